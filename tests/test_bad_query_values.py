"""Bad page numbers, ids and dates in addresses get a 404 (or the page with the value ignored), never a 500.

Every GET route of ``app.url_map`` is opened with each bad value in every query argument the
views read (``?page=99999999999999999999``, ``?page=-1``, ``?page=abc``, ``?start=9999-12-31``,
``?neighborhood=2147483648``...), as an admin and as a leader; and every route with an id in
its path is asked for an id no INTEGER column holds. PostgreSQL raises on such numbers where
SQLite may not, so this runs on both (``DATABASE_URL``).
"""

from __future__ import annotations

import pytest

from tests.support.world import World, build_world

#: Every query argument the views read (``grep -o 'args.get("..."' organizer``), and ``date``.
QUERY_ARGS = ["page", "q", "start", "end", "date", "stalled_days", "status", "neighborhood", "institution", "tag",
              "owner", "stage", "sort", "organizer", "leader", "person_id", "action_id", "campaign", "prepares_for",
              "show", "archived", "language", "back", "next", "quality"]

BAD_VALUES = ["99999999999999999999", "-1", "0", "abc", "9999-12-31", "0001-01-01", "\x00"]

#: Routes whose GET answers machines, not people; they are covered by their own tests.
SKIP_ENDPOINTS = {"static"}


def _ids(world: World) -> dict:
    """A valid value for each argument a route's path may have."""
    return {
        "person_id": world.person, "institution_id": world.institution, "one_to_one_id": world.one_to_one,
        "campaign_id": world.campaign, "target_id": world.target, "action_id": world.action,
        "mobilization_id": world.mobilization, "conversation_id": world.conversation, "user_id": world.leader.id,
        "link_id": world.link, "token": world.signup_token, "kind": "signin", "stage_id": world.stage,
        "commitment_id": 1, "membership_id": world.membership, "relationship_id": 1, "outbox_id": 1,
        "message_id": 1, "decision": "confirm", "rsvp_id": 1, "held_id": 1, "conflict_id": 1, "number_id": 1,
        "kept_id": world.person, "other_id": world.person, "merge_id": 1, "which": "no_show", "follow_up_id": 1,
        "tie_id": 1, "first_id": world.person, "second_id": world.person, "dismissal_id": 1,
    }


def _path_for(rule, world: World, **override) -> str:
    ids = {**_ids(world), **override}
    if rule.endpoint == "sms.resolve_unknown":
        ids["decision"] = "resend"
    elif "decision" in rule.arguments:  # one of the route's own choices (accept, allow, ...)
        ids["decision"] = sorted(rule._converters["decision"].items)[0]
    missing = set(rule.arguments) - set(ids)
    assert not missing, f"no value for {missing} of {rule.rule}: add it to _ids"
    return rule.build({name: ids[name] for name in rule.arguments}, append_unknown=False)[1]


def _get_routes(app):
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and rule.endpoint not in SKIP_ENDPOINTS), key=lambda r: r.rule)


@pytest.mark.parametrize("role", ["admin", "leader"])
def test_bad_query_values_never_cause_a_server_error(app, login_as, role):
    world = build_world(app)
    browser = login_as(getattr(world, role))
    failures = []
    for rule in _get_routes(app):
        path = _path_for(rule, world)
        for value in BAD_VALUES:
            # All arguments at once but the page (a bad page may 404 before the others are read),
            # then the page alone.
            for query in ({name: value for name in QUERY_ARGS if name != "page"}, {"page": value}):
                try:
                    status = browser.client.get(path, query_string=query).status_code
                except Exception as error:  # noqa: BLE001 - the test client re-raises what would be a 500
                    status = f"{type(error).__name__}: {error}"[:200]
                if not isinstance(status, int) or status >= 500:
                    failures.append(f"{path} {'page' if 'page' in query else 'every argument'}={value!r} -> {status}")
    assert not failures, "\n".join(failures[:40])


def test_the_people_list_answers_bad_page_numbers(app, login_as):
    world = build_world(app)
    browser = login_as(world.organizer)
    assert browser.client.get("/people/?page=99999999999999999999").status_code == 404
    for page in ("-1", "0", "abc", ""):
        response = browser.client.get(f"/people/?page={page}")
        assert response.status_code == 200
        assert "García" in response.get_data(as_text=True)  # the first page


HUGE_IDS = ["99999999999999999999", "2147483648"]


def test_ids_no_integer_column_holds_are_not_found(app, login_as):
    from werkzeug.routing import IntegerConverter

    world = build_world(app)
    browser = login_as(world.admin)
    failures, tried = [], 0
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if not isinstance(converter, IntegerConverter):
                continue
            for huge in HUGE_IDS:
                path = _path_for(rule, world, **{name: 424242}).replace("424242", huge)
                method = "get" if "GET" in rule.methods else "post"
                try:
                    status = getattr(browser.client, method)(path).status_code
                except Exception as error:  # noqa: BLE001 - the test client re-raises what would be a 500
                    status = f"{type(error).__name__}: {error}"[:200]
                tried += 1
                # A POST to a path whose GET twin also refuses the id is answered 405 by werkzeug's
                # matcher (the path matched a rule for another method): refused too, no database.
                if status not in ((404,) if method == "get" else (404, 405)):
                    failures.append(f"{method.upper()} {path} -> {status}")
    assert tried > 50  # every route with an id in its path was tried
    assert not failures, "\n".join(failures)


def _id_fields() -> set[str]:
    """Every form field that carries a row's id (named ``..._id``), read off the forms the app
    defines, so a new one is tried too."""
    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField

    def forms(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from forms(sub)

    return {name for form in forms(FlaskForm) for name in dir(form)
            if name.endswith("_id") and isinstance(getattr(form, name, None), UnboundField)}


def test_ids_no_integer_column_holds_posted_in_a_form_are_refused(app, login_as):
    """A page's script or hidden field posts a person's id (the door's check-in, an RSVP, a reply
    matched to a person, a data point's indicator): one beyond what a column holds reached the
    database and overflowed there (a 500 on SQLite) until the forms refused it."""
    id_fields = _id_fields()
    assert {"person_id", "indicator_id", "turnout_action_id"} <= id_fields
    world = build_world(app)
    failures, tried = [], 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" not in rule.methods or rule.endpoint in {"auth.logout", "auth.login"}:
            continue
        browser = login_as(world.admin)  # a fresh session: a route before may have ended this one
        path = _path_for(rule, world)
        for huge in HUGE_IDS:
            # Each id field at once, with an answer a form accepts, so the id is what is judged.
            data = {**{name: huge for name in id_fields}, "status": "yes"}
            try:
                status = browser.post(path, data).status_code
            except Exception as error:  # noqa: BLE001 - the test client re-raises what would be a 500
                status = f"{type(error).__name__}: {error}"[:200]
            tried += 1
            if not isinstance(status, int) or status >= 500:
                failures.append(f"POST {path} with ids of {huge} -> {status}")
    assert tried > 100
    assert not failures, "\n".join(failures)
