"""In real Chromium, on a phone and a laptop: the relational network is drawn (Cytoscape's canvas
with nodes in it) and the page never scrolls sideways."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import assert_no_sideways_scroll, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def small_federation(app, make_user, make_institution):
    """Demo-like: three institutions, an organizer and two leaders linked to people of their own,
    thirty residents in the leaders' and the organizer's lists, and one-to-ones among them."""
    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.institutions.models import Membership
    from organizer.people.models import Person
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today

    organizer, leaders = make_user("organizer"), [make_user("leader"), make_user("leader")]
    institutions = [make_institution().id for _ in range(3)]
    with app.app_context():
        today = local_today()
        people = []
        for i in range(30):
            owner = leaders[i % 3].id if i % 3 < 2 else organizer.id
            person = Person(first_name=f"Resident{i}", last_name="Doe", owner_id=owner)
            person.memberships = [Membership(institution_id=institutions[i % 3])]
            people.append(person)
        selves = [Person(first_name=f"Leader{n}", last_name="Self", owner_id=organizer.id,
                         memberships=[Membership(institution_id=institutions[n])]) for n in range(2)]
        db.session.add_all(people + selves)
        db.session.flush()
        for leader, own in zip(leaders, selves, strict=True):
            db.session.get(User, leader.id).person_id = own.id
        for i, person in enumerate(people):
            holder = person.owner_id
            for k in range(1 + i % 3):
                db.session.add(OneToOne(person_id=person.id, held_by_id=holder, held_on=today - timedelta(days=7 * k)))
            if i % 5 == 0:  # some also met the first leader: bridges across institutions
                db.session.add(OneToOne(person_id=person.id, held_by_id=leaders[0].id, held_on=today))
        db.session.commit()
    return organizer, leaders[0]


@pytest.mark.parametrize("size", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}])
@pytest.mark.parametrize("who", ["organizer", "leader"])
def test_the_network_is_drawn_without_sideways_scroll(page: Page, live_server, small_federation, size, who):
    organizer, leader = small_federation
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size(size)
    log_in(page, live_server, organizer if who == "organizer" else leader)

    page.goto(f"{live_server}/pipeline/network")
    graph = page.get_by_test_id("network-graph")
    expect(graph.locator("canvas").first).to_be_attached()
    expect(graph).to_have_attribute("data-nodes", re.compile(r"^[1-9][0-9]*$"))  # drawn by network.js
    nodes = int(graph.get_attribute("data-nodes"))
    edges = int(graph.get_attribute("data-edges"))
    assert nodes > 0 and edges > 0
    if who == "leader":  # themselves and the ten residents on their list
        assert nodes == 11
    box = graph.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 200
    assert_no_sideways_scroll(page)
    assert errors == []
