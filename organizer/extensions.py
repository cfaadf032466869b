"""Flask extensions, created unbound here and bound to an app in ``init_app``."""

from __future__ import annotations

from functools import cached_property, lru_cache

from flask import Flask, Request, request
from flask.globals import _cv_app
from flask_babel import Babel, Domain
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from organizer.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def select_locale() -> str | None:
    """The user's chosen language, else the browser's best match; the default outside a request."""
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(list(languages)) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


def select_timezone() -> str | None:
    """Times are shown in the federation's time zone (organization settings)."""
    from organizer.settings.services import get_organization

    return get_organization().timezone


class RequestDomain(Domain):
    """Flask-Babel's message domain, with the request's catalog looked up once per request.

    Flask-Babel finds the catalog again for every string (the locale, its cache key, the
    fallbacks: some 18 µs), which costs milliseconds on a page of a hundred strings and lazy
    labels. The catalog is kept in Flask-Babel's own per-request state, under the name that its
    ``force_locale`` and ``refresh`` reset, so a forced or refreshed language is still honoured.
    """

    def get_translations(self):
        # The app context straight from its context variable (as Flask-SQLAlchemy reads it):
        # this runs for every string, and each use of the ``g`` proxy costs a lookup of its own.
        context = _cv_app.get(None)
        state = context.g.__dict__.get("_flask_babel") if context is not None else None
        if state is None:  # outside a request, or before Flask-Babel's first lookup in it
            return super().get_translations()
        translations = getattr(state, "babel_translations", None)
        if translations is None:
            translations = state.babel_translations = super().get_translations()
        return translations


class OrganizerRequest(Request):
    """Flask's request, with WTForms' own messages ("Not a valid choice") in the request's
    language found once per process: Flask-WTF looks for ``request.wtforms_translations`` and
    otherwise reads and parses the catalog file again for the first form of every request
    (0.7-0.8 ms). Found when first asked for, in the language of that moment, as Flask-WTF did.
    """

    @cached_property
    def wtforms_translations(self):
        from flask_babel import get_locale

        return _wtforms_translations(str(get_locale()))


@lru_cache(maxsize=8)
def _wtforms_translations(locale: str):
    from babel import support
    from wtforms.i18n import messages_path

    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def init_app(app: Flask) -> None:
    """Bind every extension to ``app``."""
    app.request_class = OrganizerRequest
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(app.config.get("MIGRATIONS_DIR", _migrations_dir())), compare_type=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(_translations_dir()),
    )
    domain = babel.domain_instance = RequestDomain()
    # Templates' _() straight to the request's catalog (Flask-Babel's callables go through
    # get_domain() for every string).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: domain.get_translations().ugettext(s),
        ngettext=lambda s, p, n: domain.get_translations().ungettext(s, p, n),
        pgettext=lambda c, s: domain.get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: domain.get_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    # ``_()`` and ``gettext()`` (also ``{% trans %}``) in one step: Jinja's newstyle wrappers, less
    # its alias and its two ``Context.call``s (a page has fifty strings).
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"] = _template_gettext(domain)

    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please log in to see this page.")


def _template_gettext(domain: RequestDomain):
    """Jinja's newstyle ``gettext`` (``jinja2.ext._make_new_gettext``): the translation, made
    Markup under autoescape, then always formatted with the variables (``%%`` is ``%``, a
    variable escaped), straight from the request's catalog."""
    from jinja2 import pass_context
    from markupsafe import Markup

    @pass_context
    def gettext(context, string: str, /, **variables):
        text = domain.get_translations().ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        if not variables and "%" not in text:
            return text  # what ``text % {}`` gives, without formatting
        return text % variables

    return gettext


def _migrations_dir():
    from config import BASE_DIR

    return BASE_DIR / "migrations"


def _translations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent / "translations"
