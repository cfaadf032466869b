"""In real Chromium, on a phone and a laptop: the power map draws the relationships between its
targets as lines (an arrow for a directed one), lists them in a table, and the page never scrolls
sideways; the decision-maker's page shows how we reach them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import assert_no_sideways_scroll, log_in

pytestmark = pytest.mark.browser

PHONE, LAPTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}


@pytest.fixture
def power_map(app, make_user, make_person):
    """A campaign whose map has a board chair who appointed the agency's president, and an
    alderperson who is family of the chair; one of our people knows the alderperson."""
    from organizer.auth.models import User
    from organizer.campaigns.models import Position, RelationshipKind, TieKind
    from organizer.campaigns.services import (
        CampaignData,
        TargetData,
        add_relationship,
        add_tie,
        put_on_map,
        save_campaign,
        save_target,
    )
    from organizer.extensions import db
    from organizer.people.models import Person

    organizer = make_user("organizer")
    neighbor = make_person(first_name="Marisol", last_name="Reyes")
    with app.app_context():
        actor = db.session.get(User, organizer.id)
        campaign = save_campaign(None, CampaignData(name="Fix the Route 9 bus"), actor)
        chair = save_target(None, TargetData(name="Dorothy Mensah", title="Chair"), actor)
        president = save_target(None, TargetData(name="Victor Lang", title="President"), actor)
        alder = save_target(None, TargetData(name="Rosa Delgado", title="Alderperson"), actor)
        put_on_map(campaign, chair, Position.OPPONENT, 5, actor)
        put_on_map(campaign, president, Position.UNDECIDED, 4, actor)
        put_on_map(campaign, alder, Position.ALLY, 2, actor)
        add_tie(chair, president, TieKind.APPOINTED, actor, strength=3)
        add_tie(alder, chair, TieKind.FAMILY, actor)
        add_relationship(alder, RelationshipKind.CONSTITUENT, actor, person=db.session.get(Person, neighbor.id))
        db.session.commit()
        return organizer, campaign.id, president.id


def _no_sideways_scroll(page: Page) -> None:
    assert_no_sideways_scroll(page)


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_power_map_draws_the_relationships_and_lists_them(page: Page, live_server, power_map, size):
    organizer, campaign_id, president_id = power_map
    page.set_viewport_size(size)
    log_in(page, live_server, organizer)
    expect(page.get_by_role("heading", name=f"Welcome, {organizer.name}")).to_be_visible()
    page.goto(f"{live_server}/campaigns/{campaign_id}/power-map")

    lines = page.locator("svg.tie-lines line")
    expect(lines).to_have_count(2)
    appointed = page.locator("svg.tie-lines line.tie-appointed")
    assert appointed.get_attribute("marker-end"), "a directed relationship has an arrow"
    assert page.locator("svg.tie-lines line.tie-family").get_attribute("marker-end") is None
    # The line joins the two cards: it starts at the chair's card and ends at the president's.
    ends = page.evaluate("""() => {
        const grid = document.querySelector('.power-grid').getBoundingClientRect();
        const line = document.querySelector('svg.tie-lines line.tie-appointed');
        const box = (id) => document.querySelector(`.target-card[data-target-id="${id}"]`).getBoundingClientRect();
        const near = (x, y, b) => x >= b.left - grid.left - 1 && x <= b.right - grid.left + 1
                                  && y >= b.top - grid.top - 1 && y <= b.bottom - grid.top + 1;
        const [x1, y1, x2, y2] = ['x1', 'y1', 'x2', 'y2'].map((a) => parseFloat(line.getAttribute(a)));
        return [near(x1, y1, box(line.dataset.tieFrom)), near(x2, y2, box(line.dataset.tieTo))];
    }""")
    assert ends == [True, True]

    table = page.get_by_test_id("tie-table")
    expect(table.get_by_role("row")).to_have_count(3)  # the header and two relationships
    expect(table.get_by_role("row", name="Dorothy Mensah appointed Victor Lang Strong")).to_be_visible()
    expect(page.get_by_test_id("tie-legend")).to_contain_text("Appointee")
    _no_sideways_scroll(page)

    page.goto(f"{live_server}/campaigns/targets/{president_id}")
    paths = page.get_by_test_id("reach-paths")
    expect(paths).to_contain_text("Marisol Reyes")
    expect(paths).to_contain_text("Rosa Delgado")
    expect(paths).to_contain_text("3 steps")
    _no_sideways_scroll(page)


def test_a_leader_on_a_phone_reads_the_relationships_and_their_own_way_in(page: Page, live_server, app, power_map,
                                                                           make_user, make_person):
    from organizer.campaigns.models import RelationshipKind, Target
    from organizer.campaigns.services import add_relationship
    from organizer.extensions import db
    from organizer.people.models import Person

    _organizer, campaign_id, president_id = power_map
    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader, first_name="Fannie", last_name="Hamer")
    theirs = make_person(owner=other, first_name="Hidden", last_name="Neighbor")
    with app.app_context():
        chair = db.session.scalar(db.select(Target).where(Target.name == "Dorothy Mensah"))
        for person in (mine, theirs):
            add_relationship(chair, RelationshipKind.CONGREGANT, leader, person=db.session.get(Person, person.id))
        db.session.commit()
    page.set_viewport_size(PHONE)
    log_in(page, live_server, leader)
    expect(page.get_by_role("heading", name=f"Welcome, {leader.name}")).to_be_visible()
    page.goto(f"{live_server}/campaigns/{campaign_id}/power-map")
    expect(page.locator("svg.tie-lines line")).to_have_count(2)
    expect(page.get_by_test_id("tie-table").get_by_role("row")).to_have_count(3)
    _no_sideways_scroll(page)

    page.goto(f"{live_server}/campaigns/targets/{president_id}")
    paths = page.get_by_test_id("reach-paths")
    expect(paths).to_contain_text("Fannie Hamer")
    expect(page.get_by_text("Hidden Neighbor")).to_have_count(0)
    expect(page.get_by_test_id("reach-paths-hidden")).to_contain_text("and 2 more people outside your list")
    expect(page.get_by_text("Add a relationship with another target")).to_have_count(0)
    _no_sideways_scroll(page)
