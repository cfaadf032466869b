"""Every edit form round-trips: opened and saved unchanged, it changes nothing in the database.

The list of edit routes comes from ``app.url_map``: every route that takes a POST is either an
edit case below (with each role that may use it) or named in ``NOT_EDIT_FORMS`` with the reason,
so a new POST route without a case fails ``test_every_post_route_is_classified``.

Each case logs in, dumps every table, opens the page as a browser would, reads the form with
``html.parser`` (inputs, checked boxes, selected options, textareas, the pressed button), posts
exactly that back and dumps every table again. Only the audit table is left out of the
comparison (an explicit "saved, nothing changed" event is allowed there), and nothing else:
logging in happens before the first dump, so the login's own writes are not in the way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from organizer.extensions import db
from tests.support.forms import dump_database, forms_on
from tests.support.world import World, build_world

# --- the cases ---------------------------------------------------------------------------


@dataclass
class Case:
    """Open ``page`` as ``role`` and submit the form that posts to ``endpoint`` unchanged."""

    role: str
    page: Callable[[World], str]


EDIT_CASES: dict[str, list[Case]] = {
    "people.edit": [Case(role, lambda w: f"/people/{w.person}/edit") for role in ("admin", "organizer", "leader")],
    "people.add_membership_view": [Case(role, lambda w: f"/people/{w.person}")
                                   for role in ("admin", "organizer", "leader")],
    "institutions.edit": [Case(role, lambda w: f"/institutions/{w.institution}/edit") for role in ("admin", "organizer")],
    "auth.edit_user": [Case("admin", lambda w: f"/admin/users/{w.leader.id}"),
                       Case("admin", lambda w: f"/admin/users/{w.organizer.id}")],
    "auth.set_language": [Case(role, lambda w: "/") for role in ("admin", "organizer", "leader")],
    "relational.edit_one_to_one": [Case(role, lambda w: f"/one-to-ones/{w.one_to_one}/edit")
                                   for role in ("admin", "organizer", "leader")],
    "relational.follow_up_reschedule": [Case(role, lambda w: f"/one-to-ones/{w.one_to_one}")
                                        for role in ("admin", "organizer", "leader")],
    "relational.move": [Case(role, lambda w: f"/people/{w.person}") for role in ("admin", "organizer", "leader")],
    "relational.admin_stage_edit": [Case("admin", lambda w: "/admin/stages")],
    "relational.admin_stages": [Case("admin", lambda w: "/admin/stages")],
    "relational.admin_issues": [Case("admin", lambda w: "/admin/issues")],
    "auth.two_factor_policy": [Case("admin", lambda w: "/admin/users")],
    "campaigns.edit": [Case(role, lambda w: f"/campaigns/{w.campaign}/edit") for role in ("admin", "organizer")],
    "campaigns.edit_target": [Case(role, lambda w: f"/campaigns/targets/{w.target}/edit")
                              for role in ("admin", "organizer")],
    "campaigns.move_target": [Case(role, lambda w: f"/campaigns/targets/{w.target}") for role in ("admin", "organizer")]
    + [Case(role, lambda w: f"/campaigns/{w.campaign}/power-map") for role in ("admin", "organizer")],
    "actions.edit": [Case(role, lambda w: f"/actions/{w.action}/edit") for role in ("admin", "organizer")],
    "actions.commit_own": [Case("leader", lambda w: f"/actions/{w.action}")],
    "actions.commit_institution": [Case(role, lambda w: f"/actions/{w.action}") for role in ("admin", "organizer")],
    "actions.rsvp": [Case(role, lambda w: f"/actions/{w.action}?q=Garc%C3%ADa")
                     for role in ("admin", "organizer", "leader")],
    "sms.edit": [Case(role, lambda w: f"/sms/{w.mobilization}/edit") for role in ("admin", "organizer")]
    + [Case(role, lambda w: f"/sms/{w.leader_draft}/edit") for role in ("leader", "organizer")],
    "settings.organization": [Case("admin", lambda w: "/admin/settings")],
    "settings.lists": [Case("admin", lambda w: "/admin/lists")],
}

#: POST routes that are not forms over an existing row, and why.
NOT_EDIT_FORMS = {
    "actions.text_turnout_list": "a create form (a draft text to a turnout list), with a submission token",
    "actions.add_turnout_follow_ups": "a create form (a follow-up per person on the list), with a submission token",
    "actions.decide_made_it": "a lone button whose press is the change (confirm or dismiss a reply)",
    "auth.change_password": "its password fields open empty: saved unchanged it is refused",
    "auth.sign_out_everywhere": "a lone button whose press is the change",
    "auth.two_factor": "enrolls an authenticator: a code must be typed",
    "auth.login_code": "signs in with a code",
    "auth.disable_own_two_factor": "a lone button (with the password) whose press is the change",
    "auth.reset_two_factor": "a lone button whose press is the change",
    "actions.decide_signup": "each button is a decision about a held sign-up",
    "actions.decide_pending_rsvp": "each button is a decision about a pending RSVP",
    "people.resolve_conflict_view": "a lone button whose press is the change",
    "people.merge": "makes two records one: the press is the change (undone from people.merges)",
    "people.undo_merge_view": "a lone button whose press is the change",
    "people.dismiss_duplicate": "a lone button whose press is the change (undone from people.dismissed_duplicates)",
    "people.undo_dismissed_duplicate": "a lone button whose press is the change",
    "sms.resolve_conflict": "each button is a decision about a shared number",
    "sms.clear_flag": "a lone button whose press is the change",
    "sms.remove_state_rule": "a lone button whose press is the change",
    "sms.quiet_hours": "adds a state's window (the form opens empty)",
    "sms.test_numbers": "adds a verified number (the form opens empty)",
    "sms.remove_test_number": "a lone button whose press is the change",
    "reports.add_indicator": "adds an indicator",
    "reports.add_point": "adds a data point",
    "reports.add_win": "adds a win",
    "reports.set_target": "sets a measure's target: the form opens empty, one per measure",
    "reports.population_save": "adds or replaces one figure (the form opens empty)",
    "reports.population_import": "uploads a file",
    "auth.login": "signs in; writes only the login attempt",
    "auth.logout": "a lone button",
    "auth.new_user": "creates",
    "people.new": "creates",
    "people.archive": "a lone button whose press is the change",
    "people.restore": "a lone button whose press is the change",
    "people.assign": "bulk action over ticked rows; nothing is ticked when the page opens",
    "people.remove_membership_view": "a lone button whose press is the change",
    "people.import_csv": "uploads a file",
    "people.import_confirm": "confirms an upload",
    "people.import_mapping": "re-reads an upload through another column mapping (saving one creates it)",
    "institutions.new": "creates",
    "relational.new_one_to_one": "creates",
    "relational.commitment_status": "each button sets one status other than the current one",
    "relational.follow_up_done": "a lone button whose press is the change",
    "relational.action_follow_up_done": "a lone button whose press is the change",
    "relational.admin_stage_delete": "a lone button whose press is the change",
    "campaigns.new": "creates",
    "campaigns.add_target": "adds a target",
    "campaigns.add_relationship_view": "adds a relationship",
    "campaigns.remove_relationship_view": "a lone button whose press is the change",
    "campaigns.add_tie_view": "adds a relationship between targets",
    "campaigns.remove_tie_view": "a lone button whose press is the change",
    "actions.new": "creates",
    "actions.archive": "a lone button whose press is the change",
    "actions.remove_commitment": "a lone button whose press is the change",
    "actions.checkin_post": "checks a person in: the press is the change",
    "actions.checkin_undo": "a lone button whose press is the change",
    "actions.walk_in_post": "adds a walk-in",
    "actions.checkin_sync": "applies check-ins queued on a device (JSON, not a form): each is a change",
    "actions.signup": "the public sign-up: a person telling us, not an edit of a row",
    "sms.new": "creates",
    "sms.test": "sends a test text",
    "sms.launch": "launches",
    "sms.cancel": "a lone button whose press is the change",
    "sms.resume": "a lone button whose press is the change",
    "sms.finish": "a lone button whose press is the change",
    "sms.p2p": "sends the next text",
    "sms.reply": "sends a reply",
    "sms.assign": "assigns a conversation",
    "sms.match": "matches a conversation to a person",
    "sms.review": "a lone button whose press is the change",
    "sms.record_reply_rsvp": "a one-tap button whose press records the RSVP",
    "sms.undo_reply_rsvp": "a lone button whose press is the change",
    "sms.resolve_unknown": "a lone button whose press is the change",
    "sms.inbound": "Twilio webhook",
    "sms.status_callback": "Twilio webhook",
}

#: Tables left out of the comparison: the audit log (an explicit no-change event is allowed).
SKIP_TABLES = {"audit_events"}


def _post_routes(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}


def test_every_post_route_is_classified(app):
    unclassified = _post_routes(app) - set(EDIT_CASES) - set(NOT_EDIT_FORMS)
    assert not unclassified, f"add a round-trip case (EDIT_CASES) or a reason (NOT_EDIT_FORMS) for {unclassified}"
    assert not set(EDIT_CASES) & set(NOT_EDIT_FORMS)
    assert not (set(EDIT_CASES) | set(NOT_EDIT_FORMS)) - _post_routes(app), "a case names a route that is gone"


CASES = [(endpoint, i, case) for endpoint, cases in EDIT_CASES.items() for i, case in enumerate(cases)]


def _action_path(form_action: str | None, page: str) -> str:
    return urlsplit(form_action or page).path


@pytest.mark.parametrize(("endpoint", "case"), [(e, c) for e, _i, c in CASES],
                         ids=[f"{e}-{c.role}-{i}" for e, i, c in CASES])
def test_saving_an_edit_form_unchanged_changes_nothing(app, login_as, endpoint, case):
    world = build_world(app)
    browser = login_as(getattr(world, case.role))
    page = case.page(world)
    with app.app_context():
        before = dump_database(SKIP_TABLES)
        events_before = _audit_events()

    response = browser.client.get(page)
    assert response.status_code == 200, page
    html = response.get_data(as_text=True)
    adapter = app.url_map.bind("localhost")
    matching = []
    for form in forms_on(html):
        path = _action_path(form.action, page)
        try:
            found, _args = adapter.match(path, method="POST")
        except Exception:  # noqa: BLE001 - a GET-only path or a 404: not this form
            continue
        if found == endpoint:
            matching.append(form)
    assert matching, f"no form posting to {endpoint} on {page}"

    for form in matching:
        action = form.action or page
        response = browser.client.post(action, data=MultiDict(form.payload()))
        if endpoint in FORMS_THAT_REFUSE_UNCHANGED:
            assert response.status_code in (200, 302), (action, response.status_code)
        else:  # accepted: a saved form redirects, a refused one shows the page again with errors
            assert response.status_code == 302, (action, response.status_code, _errors(response))

    with app.app_context():
        after = dump_database(SKIP_TABLES)
        events_after = _audit_events()
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert not changed, _describe(changed)
    assert events_after == events_before, "a form saved unchanged recorded an audit event"


def _audit_events() -> list[tuple]:
    from sqlalchemy import select

    from organizer.audit.models import AuditEvent

    rows = db.session.execute(select(AuditEvent.action, AuditEvent.object_type, AuditEvent.details)
                              .order_by(AuditEvent.id)).all()
    db.session.rollback()
    return [tuple(row) for row in rows]


#: Forms that are empty "add" boxes, or whose add box sits beside the edit forms: submitting them
#: untouched is refused (a name, an institution, a number is required), which changes nothing too.
FORMS_THAT_REFUSE_UNCHANGED = {"relational.admin_stages", "relational.admin_issues", "settings.lists",
                               "people.add_membership_view", "actions.commit_institution"}


def _errors(response) -> list[str]:
    import re

    return re.findall(r'class="invalid-feedback[^"]*">([^<]*)<', response.get_data(as_text=True))


def _describe(changed: dict[str, tuple[list, list]]) -> str:
    lines = []
    for table, (old, new) in changed.items():
        lines.append(f"{table}:")
        lines += [f"  - {row}" for row in old if row not in new]
        lines += [f"  + {row}" for row in new if row not in old]
    return "\n".join(lines)
