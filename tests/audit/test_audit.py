"""The audit log: events for every change and export with old and new values, shown to admins only;
sensitive values kept, but never shown to anyone who may not see them."""

from __future__ import annotations

import re

from sqlalchemy import select


#: Signing in and out is audited too (tests/auth), but is not a change to the data.
SIGN_IN = ("login", "login_failed", "login_throttled", "logout")


def events(app):
    """The audited changes and exports, oldest first, without the sign-in events."""
    from organizer.audit.models import AuditEvent
    from organizer.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action.not_in(SIGN_IN))
                                  .order_by(AuditEvent.id)).all()
        return [(e.user_id, e.action, e.object_type, e.object_id, e.details) for e in rows]


def test_create_update_archive_export_and_assign_are_recorded(app, login_as, make_user):
    organizer, leader = make_user("organizer"), make_user("leader")
    actions = login_as(organizer)
    response = actions.post("/people/new", {"first_name": "Ana", "phone": "3125550142", "sms_consent": "unknown"})
    person_id = int(re.search(r"/people/(\d+)$", response.headers["Location"]).group(1))
    actions.post(f"/people/{person_id}/edit", {"first_name": "Anita", "phone": "3125550142", "sms_consent": "unknown"})
    actions.post("/people/assign", {"person_ids": [person_id], "owner_id": leader.id})
    actions.post(f"/people/{person_id}/archive")
    actions.client.get("/people/export.csv?archived=1")
    recorded = [(user, action, kind, obj) for user, action, kind, obj, _details in events(app)]
    assert recorded == [
        (organizer.id, "create", "people", person_id),
        (organizer.id, "update", "people", person_id),
        (organizer.id, "assign", "people", None),
        (organizer.id, "archive", "people", person_id),
        (organizer.id, "export", "people", None),
    ]
    update = events(app)[1][4]
    assert update == {"changes": {"first_name": {"old": "Ana", "new": "Anita"}}}


def test_a_wrong_edit_can_be_undone_from_the_old_values(app, login_as, make_user, make_person):
    from organizer.people.models import PersonRaceEthnicity, RaceEthnicity

    organizer = make_user("organizer")
    person = make_person(first_name="Ana", notes="Call after 6", phone="+13125550142",
                         race_ethnicities=[PersonRaceEthnicity(value=RaceEthnicity.BLACK)])
    login_as(organizer).post(f"/people/{person.id}/edit", {
        "first_name": "Ana", "last_name": person.last_name, "phone": "", "sms_consent": "unknown",
        "notes": "Undocumented, fears landlord", "race_ethnicities": ["hispanic_latino"]})
    [(_user, action, _kind, _obj, details)] = events(app)
    assert action == "update"
    assert details == {
        "changes": {
            "notes": {"old": "Call after 6", "new": "Undocumented, fears landlord"},
            "phone": {"old": "+13125550142", "new": None},
            "race_ethnicities": {"old": ["black_african_american"], "new": ["hispanic_latino"]},
        },
        "sensitive": ["notes", "race_ethnicities"],
    }


def test_sensitive_values_are_shown_only_to_those_who_may_see_them(app, login_as, make_user, make_person):
    from organizer.audit.models import AuditEvent
    from organizer.audit.services import visible_details
    from organizer.extensions import db

    admin, leader = make_user("admin"), make_user("leader")
    person = make_person(first_name="Ana", notes="Call after 6")
    login_as(admin).post(f"/people/{person.id}/edit", {
        "first_name": "Anita", "last_name": person.last_name, "sms_consent": "unknown", "notes": "Fears landlord"})
    html = login_as(admin).client.get("/admin/audit/").get_data(as_text=True)
    assert "Fears landlord" in html and "Call after 6" in html and "Anita" in html
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
        for_leader = visible_details(event, db.session.get(type(leader), leader.id))
    assert for_leader["changes"]["first_name"] == {"old": "Ana", "new": "Anita"}
    assert for_leader["changes"]["notes"] == {"old": "…", "new": "…"}
    assert "landlord" not in str(for_leader) and "after 6" not in str(for_leader)


def test_a_form_saved_unchanged_records_nothing(app, login_as, make_user, make_person):
    organizer = make_user("organizer")
    person = make_person(first_name="Ana", phone="+13125550142")
    form = {"first_name": "Ana", "last_name": person.last_name, "phone": "(312) 555-0142", "sms_consent": "unknown"}
    assert login_as(organizer).post(f"/people/{person.id}/edit", form).status_code == 302
    assert events(app) == []


def test_the_log_page_is_for_admins_only(login_as, make_user):
    assert login_as(make_user("organizer")).client.get("/admin/audit/").status_code == 403
    assert login_as(make_user("leader")).client.get("/admin/audit/").status_code == 403


def test_admin_reads_who_did_what(app, login_as, make_user):
    admin = make_user("admin", name="Alex Admin")
    actions = login_as(admin)
    actions.post("/admin/lists", {"tags-name": "Drivers"})
    html = actions.client.get("/admin/audit/").get_data(as_text=True)
    assert "Alex Admin" in html and "create" in html and "Drivers" in html


def test_the_log_filters_by_who_what_record_and_day(app, login_as, make_user):
    from datetime import datetime, timezone

    from organizer.audit.models import AuditEvent
    from organizer.extensions import db

    admin, organizer = make_user("admin"), make_user("organizer")
    with app.app_context():
        db.session.add_all([
            AuditEvent(user_id=organizer.id, action="archive", object_type="people", object_id=7, summary="Ana",
                       at=datetime(2026, 3, 2, 15, tzinfo=timezone.utc)),
            AuditEvent(user_id=organizer.id, action="export", object_type="people", summary="export",
                       at=datetime(2026, 3, 9, 15, tzinfo=timezone.utc)),
            AuditEvent(user_id=admin.id, action="archive", object_type="actions", object_id=3, summary="March",
                       at=datetime(2026, 3, 9, 16, tzinfo=timezone.utc)),
        ])
        db.session.commit()
    page = login_as(admin).client

    def shown(query: str) -> list[str]:
        html = page.get(f"/admin/audit/?{query}").get_data(as_text=True)
        return [summary for summary in ("Ana", "export", "March") if f"{summary}</td>" in html]

    assert shown(f"user={organizer.id}") == ["Ana", "export"]
    assert shown("action=archive") == ["Ana", "March"]
    assert shown("record=actions") == ["March"]
    assert shown("record=people&record_id=7") == ["Ana"]
    assert shown("start=2026-03-05&end=2026-03-09") == ["export", "March"]
    assert shown("end=2026-03-02") == ["Ana"]
    assert shown(f"user={organizer.id}&action=archive") == ["Ana"]
    # The choices offered are the ones the log holds.
    html = page.get("/admin/audit/").get_data(as_text=True)
    assert '<option value="export"' in html and '<option value="actions"' in html
    assert 'name="start"' in html and 'name="end"' in html
