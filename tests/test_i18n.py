"""Every user-facing string is translated to Spanish; pages follow the browser, then the user's choice."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "organizer" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}


def extracted_messages() -> set[tuple[str, str | None]]:
    """Every (msgid, context) in organizer/ and templates/ (``_macros`` included, which
    pybabel's walk skips)."""
    found: set[tuple[str, str | None]] = set()
    for pattern, method in (("organizer/**/*.py", "python"), ("templates/**/*.html", "jinja2")):
        for path in sorted(ROOT.glob(pattern)):
            for _line, message, _comments, context in extract_from_file(method, path, keywords=KEYWORDS):
                found.add((message[0] if isinstance(message, tuple) else message, context))
    return found


def test_the_spanish_catalog_is_complete():
    with CATALOG.open("rb") as f:
        catalog = read_po(f, locale="es")
    missing, fuzzy = [], []
    for msgid, context in sorted(extracted_messages(), key=lambda m: (m[0], m[1] or "")):
        entry = catalog.get(msgid, context=context)
        strings = entry.string if entry is not None else None
        if entry is None or not (all(strings) if isinstance(strings, tuple) else strings):
            missing.append(msgid)
        elif entry.fuzzy:
            fuzzy.append(msgid)
    assert not missing, (
        f"{len(missing)} strings have no Spanish translation (run `make translations` and fill "
        f"organizer/translations/es/LC_MESSAGES/messages.po): {missing[:20]}"
    )
    assert not fuzzy, f"fuzzy (unchecked) Spanish translations: {fuzzy[:20]}"


def test_the_browser_language_is_used_when_the_user_has_not_chosen(login_as, make_user, client):
    assert "Iniciar sesión" in client.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9"}).get_data(
        as_text=True)
    actions = login_as(make_user("organizer", name="Teresa"))
    html = actions.client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="es">' in html and "Te damos la bienvenida, Teresa" in html
    assert "Welcome" not in html


def test_form_labels_and_choice_labels_are_translated(login_as, make_user, make_person):
    actions = login_as(make_user("organizer"))
    html = actions.client.get("/people/new", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Nombre" in html and "Teléfono celular" in html
    assert "Hispano o latino/a/x" in html and "Prefiero no decir" in html  # race/ethnicity choice labels
    assert "First name" not in html


def test_the_users_choice_wins_over_the_browser(app, login_as, make_user):
    from organizer.auth.models import User
    from organizer.extensions import db

    user = make_user("leader")
    actions = login_as(user)
    response = actions.post("/account/language", {"locale": "es"}, headers={"Referer": "http://localhost/people/"})
    assert response.status_code == 302 and response.headers["Location"] == "/people/"
    with app.app_context():
        assert db.session.get(User, user.id).locale == "es"
    html = actions.client.get("/people/", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "Mi gente" in html and '<html lang="es">' in html
    actions.post("/account/language", {"locale": "en"})
    assert "My people" in actions.client.get("/people/", headers={"Accept-Language": "es"}).get_data(as_text=True)


def test_an_unknown_language_is_ignored(app, login_as, make_user):
    from organizer.auth.models import User
    from organizer.extensions import db

    user = make_user("leader")
    login_as(user).post("/account/language", {"locale": "xx"})
    with app.app_context():
        assert db.session.get(User, user.id).locale is None
