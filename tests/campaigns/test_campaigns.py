"""Campaigns and the power map: positions kept over time, relationships, who can reach a target."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from organizer.campaigns import services
from organizer.campaigns.models import Campaign, CampaignStatus, CampaignTarget, Position, RelationshipKind, Target
from organizer.extensions import db
from organizer.people.models import Person


@pytest.fixture
def campaign_with_target(app, make_user):
    """A campaign with one target on its map (undecided, influence 4)."""
    staff = make_user()
    with app.app_context():
        campaign = services.save_campaign(None, services.CampaignData(name="Fix the bus", issue="Transit"), staff)
        target = services.save_target(None, services.TargetData(name="Rosa Delgado", title="Alderperson",
                                                                body="City Council, District 3"), staff)
        link = services.put_on_map(campaign, target, Position.UNDECIDED, 4, staff, "First meeting")
        db.session.commit()
        ids = campaign.id, target.id, link.id
    return staff, *ids


def test_adding_a_target_with_neither_a_target_nor_a_name_is_refused(app, campaign_with_target, login_as):
    staff, campaign_id, _target_id, _link_id = campaign_with_target
    client = login_as(staff)
    response = client.post(f"/campaigns/{campaign_id}/targets", {"target_id": "", "name": "  ",
                                                                  "position": "ally", "influence": "3"})
    assert response.status_code == 302
    page = client.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Choose a target or name a new one." in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Target)) == 1
        assert db.session.scalar(select(func.count()).select_from(CampaignTarget)) == 1


def test_an_organizer_creates_a_campaign_with_institutions(app, make_user, make_institution, login_as):
    church = make_institution()
    client = login_as(make_user())
    response = client.post("/campaigns/new", data={
        "name": "Living wage", "issue": "Wages", "goal": "$20 for contract workers", "status": "active",
        "starts_on": "2026-01-05", "ends_on": "", "lead_organizer_id": "", "institution_ids": [church.id]})
    assert response.status_code == 302
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert campaign.status is CampaignStatus.ACTIVE and [i.id for i in campaign.institutions] == [church.id]
    page = client.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Living wage" in page and "$20 for contract workers" in page
    # Its dates in the reader's language, not as the database keeps them ("2026-01-05").
    assert 'data-testid="campaign-dates">Jan 5, 2026 – …<' in page
    spanish = client.client.get(response.headers["Location"], headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert 'data-testid="campaign-dates">5 ene 2026 – …<' in spanish


def test_every_change_of_position_is_kept_with_date_and_note(app, campaign_with_target, login_as):
    staff, campaign_id, target_id, link_id = campaign_with_target
    client = login_as(staff)
    client.post(f"/campaigns/{campaign_id}/targets/{link_id}/position",
                data={"position": "ally", "influence": "5", "note": "Spoke at our town hall"})
    client.post(f"/campaigns/{campaign_id}/targets/{link_id}/position",
                data={"position": "ally", "influence": "3", "note": ""})  # influence only: no new history entry
    with app.app_context():
        link = db.session.get(CampaignTarget, link_id)
        assert (link.position, link.influence) == (Position.ALLY, 3)
        history = [(c.previous, c.position, c.note) for c in link.history]
        assert history == [(Position.UNDECIDED, Position.ALLY, "Spoke at our town hall"),
                           (None, Position.UNDECIDED, "First meeting")]
        assert all(c.changed_at is not None for c in link.history)
    page = client.client.get(f"/campaigns/targets/{target_id}").get_data(as_text=True)
    assert "Spoke at our town hall" in page


def test_influence_must_be_between_one_and_five(app, campaign_with_target):
    staff, campaign_id, _target_id, link_id = campaign_with_target
    with app.app_context(), pytest.raises(services.CampaignError):
        services.set_position(db.session.get(CampaignTarget, link_id), Position.ALLY, 6, staff)


def test_who_can_reach_ranks_by_pipeline_stage_then_actions_attended(
        app, campaign_with_target, make_person, login_as, monkeypatch):
    from organizer.actions import services as action_services
    from organizer.relational.models import Stage
    from organizer.relational.services import move_person

    staff, campaign_id, target_id, _link_id = campaign_with_target
    contact = make_person(first_name="Contact")
    busy_contact = make_person(first_name="Busy")
    leader = make_person(first_name="Leading")
    monkeypatch.setattr(action_services, "attendance_counts", lambda ids: {busy_contact.id: 7, contact.id: 1})
    with app.app_context():
        from organizer.auth.models import User

        actor = db.session.get(User, staff.id)
        stage = db.session.scalar(select(Stage).where(Stage.name == "Leader"))
        move_person(db.session.get(Person, leader.id), stage, actor, "Chairs the transit team")
        target = db.session.get(Target, target_id)
        for person in (contact, busy_contact, leader):
            services.add_relationship(target, RelationshipKind.CONSTITUENT, staff, person=db.session.get(Person, person.id))
        db.session.commit()
    page = login_as(staff).client.get(f"/campaigns/{campaign_id}/power-map").get_data(as_text=True)
    assert "Ranked by leadership pipeline stage, then by actions attended." in page
    reach = page.split('data-testid="reach-list"')[1]
    assert reach.index("Leading") < reach.index("Busy") < reach.index("Contact")
    assert "3 of our people" in page


def test_a_leader_sees_counts_for_everyone_but_names_of_their_own_people(
        app, campaign_with_target, make_user, make_person, login_as):
    staff, campaign_id, target_id, _link_id = campaign_with_target
    leader, other = make_user("leader"), make_user("leader")
    mine, theirs = make_person(owner=leader, first_name="Visible"), make_person(owner=other, first_name="Hidden")
    client = login_as(leader)
    assert client.post(f"/campaigns/targets/{target_id}/relationships",
                       data={"person_id": mine.id, "kind": "congregant"}).status_code == 302
    assert client.post(f"/campaigns/targets/{target_id}/relationships",
                       data={"person_id": theirs.id, "kind": "constituent"}).status_code == 404
    with app.app_context():
        services.add_relationship(db.session.get(Target, target_id), RelationshipKind.WORKED_WITH, staff,
                                  person=db.session.get(Person, theirs.id))
        db.session.commit()
    for url in (f"/campaigns/{campaign_id}/power-map", f"/campaigns/targets/{target_id}"):
        page = client.client.get(url).get_data(as_text=True)
        assert "2 of our people" in page and "Visible" in page and "Hidden" not in page
        assert "and 1 more person outside your list" in page


def test_power_map_places_targets_on_the_grid_in_a_fixed_number_of_queries(
        app, campaign_with_target, make_person, login_as, count_queries):
    staff, campaign_id, _target_id, _link_id = campaign_with_target
    client = login_as(staff).client

    def grow(n):
        with app.app_context():
            campaign = db.session.get(Campaign, campaign_id)
            for i in range(n):
                target = services.save_target(None, services.TargetData(name=f"Target {i}-{n}"), staff)
                services.put_on_map(campaign, target, Position.OPPONENT, 2, staff)
                person = Person(first_name=f"P{i}-{n}")
                db.session.add(person)
                db.session.flush()
                services.add_relationship(target, RelationshipKind.OTHER, staff, person=person)
            db.session.commit()

    def measure():
        with count_queries() as q:
            page = client.get(f"/campaigns/{campaign_id}/power-map").get_data(as_text=True)
        return q.count, page

    grow(1)
    small, _page = measure()
    grow(6)
    large, page = measure()
    assert large == small
    cell = page.split('data-position="opponent" data-influence="2"')[1].split('class="cell"')[0]
    assert cell.count("target-card") == 7
    undecided = page.split('data-position="undecided" data-influence="4"')[1].split('class="cell"')[0]
    assert "Rosa Delgado" in undecided


def test_leaders_cannot_change_campaigns_or_positions(campaign_with_target, make_user, login_as):
    _staff, campaign_id, _target_id, link_id = campaign_with_target
    client = login_as(make_user("leader"))
    assert client.client.get("/campaigns/new").status_code == 403
    assert client.post(f"/campaigns/{campaign_id}/targets/{link_id}/position",
                       data={"position": "champion", "influence": "5"}).status_code == 403
    assert client.client.get(f"/campaigns/{campaign_id}").status_code == 200
