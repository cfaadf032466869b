# Organizer: the two set-up commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := organizer

.PHONY: run test test-postgres test-browser bench worker install install-test translations compile-translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed compile-translations
install-test: $(VENV)/.installed-test compile-translations

compile-translations: | $(BIN)/python
	$(BIN)/pybabel compile -f -d organizer/translations 2>&1 | grep -v '^compiling' || true

## make run: migrate the embedded SQLite database, load the demo on first run, serve with a worker.
run: install
	@mkdir -p instance
	$(BIN)/flask db upgrade
	@$(BIN)/flask seed-demo
	@echo ""
	@echo "  Organizer on http://127.0.0.1:$(PORT)  (demo logins above; password 'demo-password', demo only)"
	@echo "  Texts go to the console backend: they are printed here, never sent."
	@echo ""
	$(BIN)/python -m organizer.devserver --port $(PORT)

## make worker: the SMS task queue consumer on its own (production runs it as a service).
worker: install
	$(BIN)/huey_consumer organizer.tasks.huey -k thread -w 4

## make test: the whole suite on SQLite (set DATABASE_URL to run it on PostgreSQL).
test: install-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python -m bench

## make translations: extract strings and update the Spanish catalog (then translate the new entries).
## Babel skips folders starting with _ (templates/_macros), so their templates are named here.
translations: | $(BIN)/python
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output \
		-o organizer/translations/messages.pot . $(wildcard templates/_*/*.html)
	$(BIN)/pybabel update -i organizer/translations/messages.pot -d organizer/translations --no-fuzzy-matching --ignore-obsolete --no-wrap

clean:
	rm -rf $(VENV) instance/*.sqlite3*
