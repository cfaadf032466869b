"""Member institutions: the list with counts of visible people, the detail page, staff-only changes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import _save


@pytest.fixture
def member(app):
    from organizer.institutions.models import Membership, MembershipRole

    return lambda person, institution, role="member": _save(
        app, Membership(person_id=person.id, institution_id=institution.id, role=MembershipRole(role)))


@pytest.fixture
def parish(make_user, make_person, make_institution, member):
    """A church with a leader's two people (one core team) and another leader's clergy member."""
    leader, other = make_user("leader"), make_user("leader")
    church = make_institution(name="St. Mark's Catholic Church", faith_tradition="Catholic")
    member(make_person(owner=leader, first_name="Ana", last_name="Core"), church, "core_team")
    member(make_person(owner=leader, first_name="Bo", last_name="Member"), church)
    member(make_person(owner=other, first_name="Father", last_name="Hidden"), church, "clergy")
    return leader, church


def counts(html: str, name: str) -> tuple[int, int]:
    row = re.search(re.escape(name) + r"</a></td>(.*?)</tr>", html, re.S).group(1)
    people, core = re.findall(r'<td class="text-end[^"]*">(\d+)</td>', row)
    return int(people), int(core)


def test_list_counts_only_the_people_the_user_can_see(login_as, make_user, parish):
    leader, church = parish
    assert counts(login_as(leader).client.get("/institutions/").get_data(as_text=True), "St. Mark&#39;s Catholic Church") == (2, 1)
    staff_page = login_as(make_user("organizer")).client.get("/institutions/").get_data(as_text=True)
    assert counts(staff_page, "St. Mark&#39;s Catholic Church") == (3, 1)


def test_archived_people_are_not_counted(app, login_as, make_user, make_person, make_institution, member):
    from organizer.db import utcnow

    church = make_institution(name="Quiet Church")
    member(make_person(archived_at=utcnow()), church)
    page = login_as(make_user("organizer")).client.get("/institutions/").get_data(as_text=True)
    assert counts(page, "Quiet Church") == (0, 0)


def test_detail_lists_people_and_core_team(login_as, make_user, parish):
    _leader, church = parish
    html = login_as(make_user("organizer")).client.get(f"/institutions/{church.id}").get_data(as_text=True)
    core = re.search(r'data-testid="core-team">(.*?)</ul>', html, re.S).group(1)
    assert "Ana Core" in core and "Father Hidden" in core and "Bo Member" not in core
    assert "Bo Member" in html and "Catholic" in html


def test_a_leader_sees_only_their_own_people_at_an_institution(login_as, parish):
    leader, church = parish
    html = login_as(leader).client.get(f"/institutions/{church.id}").get_data(as_text=True)
    assert "Ana Core" in html and "Bo Member" in html
    assert "Father Hidden" not in html
    assert "My people here" in html


def test_unknown_institution_is_404(login_as, make_user):
    assert login_as(make_user("organizer")).client.get("/institutions/999").status_code == 404


def test_organizer_creates_and_edits_an_institution(app, login_as, make_user):
    from organizer.extensions import db
    from organizer.institutions.models import Institution

    actions = login_as(make_user("organizer"))
    response = actions.post("/institutions/new", {
        "name": "  Masjid   Al-Noor ", "type": "congregation", "faith_tradition": "Muslim", "membership_size": "600",
        "status": "member"})
    assert response.status_code == 302
    with app.app_context():
        masjid = db.session.scalar(select(Institution))
        assert (masjid.name, masjid.membership_size, masjid.status.value) == ("Masjid Al-Noor", 600, "member")
        masjid_id = masjid.id
    actions.post(f"/institutions/{masjid_id}/edit", {"name": "Masjid Al-Noor", "type": "congregation",
                                                     "status": "dues_paying"})
    with app.app_context():
        assert db.session.get(Institution, masjid_id).status.value == "dues_paying"


def test_leaders_cannot_create_or_edit(login_as, make_user, make_institution):
    church = make_institution()
    leader = login_as(make_user("leader"))
    assert leader.post("/institutions/new", {"name": "X", "type": "school", "status": "member"}).status_code == 403
    assert leader.client.get(f"/institutions/{church.id}/edit").status_code == 403
    assert "New institution" not in leader.client.get("/institutions/").get_data(as_text=True)


def test_a_duplicate_name_is_a_field_error(app, login_as, make_user, make_institution):
    make_institution(name="Trinity United Church")
    response = login_as(make_user("organizer")).post(
        "/institutions/new", {"name": "trinity united church", "type": "congregation", "status": "member"})
    assert response.status_code == 200
    assert "Another institution already has this name." in response.get_data(as_text=True)


def test_institution_changes_are_audited(app, login_as, make_user):
    from organizer.audit.models import AuditEvent
    from organizer.extensions import db

    organizer = make_user("organizer")
    login_as(organizer).post("/institutions/new", {"name": "PTA", "type": "school", "status": "prospect"})
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.object_type == "institutions"))
        assert (event.action, event.user_id, event.summary) == ("create", organizer.id, "PTA")
