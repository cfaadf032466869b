"""Every route, for every role, on a leader's own rows and on someone else's: who gets what.

The routes are read from ``app.url_map``, so a new route fails here until a line for it is
added to ``EXPECTED``. The rows in the URL (a person, a membership, an institution, an
account) belong to ``leader``: "leader" is the owner asking, "other leader" is a leader
asking for somebody else's row by id.

Each request is sent with a valid CSRF token and an otherwise empty form, so POSTs show
the access decision (403/404/redirect to login) or, once access is granted, the page's
own answer to an empty form: 200 with field errors, or a redirect where the form falls back
to the row's stored values (edit pages) or has nothing required (lone buttons).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pytest
from werkzeug.security import generate_password_hash

from organizer import create_app

LOGIN = "login"  # 302 to /login (not signed in)
ANON, LEADER, OTHER, ORGANIZER, ADMIN = ROLES = ("anonymous", "leader", "other leader", "organizer", "admin")

# endpoint: (anonymous, leader (owner), other leader, organizer, admin), for every method the route
# accepts; or {"GET": (...), "POST": (...)} when the methods differ.
EXPECTED: dict[str, tuple | dict[str, tuple]] = {
    "home.index":                    (LOGIN, 200, 200, 200, 200),
    "auth.login":                    (200, 302, 302, 302, 302),  # signed in: sent home
    "auth.logout":                   (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "auth.set_language":             (302, 302, 302, 302, 302),
    "auth.users":                    (LOGIN, 403, 403, 403, 200),
    "auth.new_user":                 (LOGIN, 403, 403, 403, 200),
    "auth.edit_user":                {"GET": (LOGIN, 403, 403, 403, 200), "POST": (LOGIN, 403, 403, 403, 302)},
    "audit.index":                   (LOGIN, 403, 403, 403, 200),
    "settings.organization":         {"GET": (LOGIN, 403, 403, 403, 200), "POST": (LOGIN, 403, 403, 403, 302)},
    "settings.lists":                (LOGIN, 403, 403, 403, 200),
    "institutions.index":            (LOGIN, 200, 200, 200, 200),
    "institutions.detail":           (LOGIN, 200, 200, 200, 200),
    "institutions.new":              (LOGIN, 403, 403, 200, 200),
    "institutions.edit":             {"GET": (LOGIN, 403, 403, 200, 200), "POST": (LOGIN, 403, 403, 302, 302)},
    "people.index":                  (LOGIN, 200, 200, 200, 200),
    "people.new":                    (LOGIN, 200, 200, 200, 200),
    "people.export":                 (LOGIN, 403, 403, 200, 200),
    "people.assign":                 (LOGIN, 403, 403, 302, 302),
    "people.detail":                 (LOGIN, 200, 404, 200, 200),
    "people.edit":                   (LOGIN, 200, 404, 200, 200),
    "people.archive":                (LOGIN, 302, 404, 302, 302),
    "people.restore":                (LOGIN, 302, 404, 302, 302),
    "people.add_membership_view":    (LOGIN, 302, 404, 302, 302),
    "people.remove_membership_view": (LOGIN, 302, 404, 302, 302),
}

# How to fill each URL argument from the rows of ``world`` (all owned by ``leader``).
ROW_ARGS = {
    "person_id": lambda w: w.person.id,
    "membership_id": lambda w: w.membership_id,
    "institution_id": lambda w: w.institution.id,
    "user_id": lambda w: w.users[LEADER].id,
}


def _endpoints() -> list[str]:
    app = create_app("testing")
    return sorted({rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"})


@dataclass
class World:
    users: dict
    person: object
    institution: object
    membership_id: int


@pytest.fixture(autouse=True)
def fast_password_hashes(monkeypatch):
    """Cheap hashes for the many test accounts here (checking reads the method from the hash)."""
    monkeypatch.setattr(
        "organizer.auth.models.generate_password_hash", partial(generate_password_hash, method="pbkdf2:sha256:1")
    )


@pytest.fixture
def world(app, make_user, make_person, make_institution) -> World:
    from organizer.extensions import db
    from organizer.institutions.models import Membership

    users = {LEADER: make_user("leader"), OTHER: make_user("leader"),
             ORGANIZER: make_user("organizer"), ADMIN: make_user("admin")}
    person = make_person(owner=users[LEADER])
    make_person(owner=users[OTHER])
    institution = make_institution()
    with app.app_context():
        membership = Membership(person_id=person.id, institution_id=institution.id)
        db.session.add(membership)
        db.session.commit()
        membership_id = membership.id
    return World(users=users, person=person, institution=institution, membership_id=membership_id)


def test_every_route_has_a_line_in_the_matrix():
    missing = [e for e in _endpoints() if e not in EXPECTED]
    assert not missing, (
        f"routes without authorization expectations: {missing}. Add one line per endpoint to EXPECTED "
        "in tests/test_authorization_matrix.py (anonymous, leader, other leader, organizer, admin)."
    )


def test_the_matrix_names_no_route_that_is_gone():
    assert not set(EXPECTED) - set(_endpoints())


def _outcome(response) -> int | str:
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        return LOGIN
    return response.status_code


@pytest.mark.parametrize("endpoint", _endpoints())
def test_route_answers_each_role_as_expected(app, world, login_as, endpoint):
    from tests.conftest import AuthActions

    if endpoint not in EXPECTED:
        pytest.fail(f"{endpoint} has no line in EXPECTED (tests/test_authorization_matrix.py): add one")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    unknown = set(rule.arguments) - set(ROW_ARGS)
    assert not unknown, f"add how to fill {unknown} to ROW_ARGS in tests/test_authorization_matrix.py"
    url = rule.build({arg: ROW_ARGS[arg](world) for arg in rule.arguments}, append_unknown=False)[1]
    expected = EXPECTED[endpoint]
    methods = [m for m in ("GET", "POST") if m in rule.methods]
    wrong = []
    for method in methods:
        codes = expected[method] if isinstance(expected, dict) else expected
        for role, want in zip(ROLES, codes, strict=True):
            actions = AuthActions(app.test_client()) if role == ANON else login_as(world.users[role])
            if method == "GET":
                response = actions.client.get(url)
            else:
                response = actions.post(url, {})
            got = _outcome(response)
            if got != want:
                wrong.append(f"{method} {url} as {role}: expected {want}, got {got}")
    assert not wrong, "\n".join(wrong)
