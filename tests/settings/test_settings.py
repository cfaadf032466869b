"""Organization settings and the managed lists of neighborhoods and tags (admins only)."""

from __future__ import annotations

from sqlalchemy import select


def test_admin_saves_the_organization_settings(app, login_as, make_user):
    from organizer.extensions import db
    from organizer.settings.models import Organization

    actions = login_as(make_user("admin"))
    response = actions.post("/admin/settings", {
        "name": "Eastside Federation", "timezone": "America/Los_Angeles", "default_phone_region": "mx",
        "going_cold_days": "60", "sms_help_text": "Eastside: reply STOP to opt out."})
    assert response.status_code == 302
    with app.app_context():
        org = db.session.get(Organization, 1)
        assert (org.name, org.timezone, org.default_phone_region, org.going_cold_days) == (
            "Eastside Federation", "America/Los_Angeles", "MX", 60)
    assert "Eastside Federation" in actions.client.get("/").get_data(as_text=True)


def test_an_unknown_time_zone_is_a_field_error(app, login_as, make_user):
    from organizer.extensions import db
    from organizer.settings.models import Organization

    response = login_as(make_user("admin")).post("/admin/settings", {
        "name": "X", "timezone": "Mars/Olympus", "default_phone_region": "US", "going_cold_days": "90"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Unknown time zone" in html and "Mars/Olympus" in html
    with app.app_context():
        assert db.session.get(Organization, 1) is None


def test_the_phone_region_must_be_two_letters(login_as, make_user):
    response = login_as(make_user("admin")).post("/admin/settings", {
        "name": "X", "timezone": "UTC", "default_phone_region": "USA", "going_cold_days": "90"})
    assert "Two letters, e.g. US." in response.get_data(as_text=True)


def test_the_time_zone_is_used_for_times_on_pages(app, login_as, make_user, make_person):
    from datetime import UTC, datetime

    from tests.conftest import _save

    from organizer.settings.models import Organization

    _save(app, Organization(id=1, name="F", timezone="Asia/Tokyo", default_phone_region="US", sms_help_text="",
                            going_cold_days=90))
    person = make_person(created_at=datetime(2026, 1, 1, 20, 0, tzinfo=UTC))
    html = login_as(make_user("organizer")).client.get(f"/people/{person.id}").get_data(as_text=True)
    assert "Jan 2, 2026, 5:00:00" in html  # 20:00 UTC is 05:00 the next day in Tokyo


def test_admin_adds_neighborhoods_and_tags(app, login_as, make_user):
    actions = login_as(make_user("admin"))
    assert actions.post("/admin/lists", {"neighborhoods-name": " Little   Village "}).status_code == 302
    assert actions.post("/admin/lists", {"tags-name": "Driver"}).status_code == 302
    html = actions.client.get("/admin/lists").get_data(as_text=True)
    assert "Little Village" in html and "Driver" in html


def test_a_duplicate_list_entry_is_a_field_error(app, login_as, make_user):
    from organizer.extensions import db
    from organizer.settings.models import Neighborhood

    actions = login_as(make_user("admin"))
    actions.post("/admin/lists", {"neighborhoods-name": "Pilsen"})
    response = actions.post("/admin/lists", {"neighborhoods-name": "pilsen"})
    assert response.status_code == 200
    assert "pilsen is already on the list." in response.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(Neighborhood)).all()) == 1


def test_the_same_name_may_be_a_neighborhood_and_a_tag(login_as, make_user):
    actions = login_as(make_user("admin"))
    assert actions.post("/admin/lists", {"neighborhoods-name": "Uptown"}).status_code == 302
    assert actions.post("/admin/lists", {"tags-name": "Uptown"}).status_code == 302


def test_settings_changes_are_audited(app, login_as, make_user):
    from organizer.audit.models import AuditEvent
    from organizer.extensions import db

    admin = make_user("admin")
    actions = login_as(admin)
    actions.post("/admin/settings", {"name": "F", "timezone": "UTC", "default_phone_region": "US",
                                     "going_cold_days": "90"})
    actions.post("/admin/lists", {"tags-name": "Youth"})
    with app.app_context():
        kinds = {(e.action, e.object_type) for e in db.session.scalars(select(AuditEvent))}
    kinds.discard(("login", "users"))  # signing in is audited too (tests/auth)
    assert kinds == {("update", "organization"), ("create", "tags")}
