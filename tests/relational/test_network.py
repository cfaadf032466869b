"""The relational network drawn (/pipeline/network and its JSON): who met whom, colored by
institution or neighborhood, connectors and bridges, filters, sampling above a size, and a
leader who sees only the part made of their own people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest


@dataclass
class Federation:
    organizer: object
    leader: object
    other_leader: object
    leader_self: int  # the leader's own person record (held by the organizer)
    amir: int  # the leader's person, of St. Anne's
    bea: int  # the leader's person, of Temple Beth
    carl: int  # the organizer's person, of St. Anne's
    olga: int  # the other leader's person
    st_anne: int
    temple: int
    north: int  # neighborhood of Amir and Carl


@pytest.fixture
def federation(app, make_user, make_person, make_institution, log_meeting) -> Federation:
    """Two institutions; a leader linked to a person of St. Anne's who met Amir (St. Anne's) twice
    and Bea (Temple Beth) once a year ago; an organizer without a person record who met Carl;
    another leader who met Olga, their own person."""
    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.institutions.models import Membership
    from organizer.relational.services import local_today
    from organizer.settings.models import Neighborhood

    organizer, leader, other = make_user("organizer"), make_user("leader"), make_user("leader")
    st_anne, temple = make_institution(name="St. Anne's"), make_institution(name="Temple Beth")
    with app.app_context():
        north = Neighborhood(name="North Side")
        db.session.add(north)
        db.session.commit()
        north_id = north.id
    self_ = make_person(owner=organizer, first_name="Lena", last_name="Leader")
    amir = make_person(owner=leader, first_name="Amir", last_name="Haddad", neighborhood_id=north_id)
    bea = make_person(owner=leader, first_name="Bea", last_name="Klein")
    carl = make_person(owner=organizer, first_name="Carl", last_name="Ortiz", neighborhood_id=north_id)
    olga = make_person(owner=other, first_name="Olga", last_name="Secretname")
    with app.app_context():
        db.session.get(User, leader.id).person_id = self_.id
        for person, institution in ((self_, st_anne), (amir, st_anne), (bea, temple), (carl, st_anne)):
            db.session.add(Membership(person_id=person.id, institution_id=institution.id))
        db.session.commit()
        today = local_today()
    log_meeting(leader, amir, held_on=today - timedelta(days=10))
    log_meeting(leader, amir, held_on=today - timedelta(days=3))
    log_meeting(leader, bea, held_on=today - timedelta(days=300))
    log_meeting(organizer, carl, held_on=today - timedelta(days=5))
    log_meeting(other, olga, held_on=today - timedelta(days=5))
    return Federation(organizer, leader, other, self_.id, amir.id, bea.id, carl.id, olga.id,
                      st_anne.id, temple.id, north_id)


def _graph(app, user, **filters):
    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.relational.network_graph import NetworkFilters, network_graph
    from organizer.relational.services import local_today

    with app.app_context():
        today = local_today()
        filters.setdefault("start", today - timedelta(days=365))
        filters.setdefault("end", today)
        return network_graph(db.session.get(User, user.id), NetworkFilters(**filters))


def _edges(graph) -> dict[frozenset, tuple[int, bool]]:
    return {frozenset((e.source, e.target)): (e.weight, e.bridge) for e in graph.edges}


def test_staff_see_people_as_nodes_and_one_to_ones_as_weighted_edges(app, federation):
    f = federation
    graph = _graph(app, f.organizer)

    assert {n.key for n in graph.nodes} == {f"p{f.leader_self}", f"p{f.amir}", f"p{f.bea}", f"p{f.carl}",
                                            f"u{f.organizer.id}", f"u{f.other_leader.id}", f"p{f.olga}"}
    assert _edges(graph) == {
        frozenset((f"p{f.leader_self}", f"p{f.amir}")): (2, False),  # both of St. Anne's
        frozenset((f"p{f.leader_self}", f"p{f.bea}")): (1, True),  # St. Anne's to Temple Beth: a bridge
        frozenset((f"u{f.organizer.id}", f"p{f.carl}")): (1, False),  # an account: never a bridge
        frozenset((f"u{f.other_leader.id}", f"p{f.olga}")): (1, False),  # no person record: their account
    }
    assert (graph.total_nodes, graph.total_edges, graph.sampled) == (7, 4, False)
    lena = graph.by_key[f"p{f.leader_self}"]
    assert (lena.label, lena.degree, lena.connector) == ("Lena Leader", 2, True)
    assert [(c.person_id, c.relationships, c.institutions) for c in graph.connectors] == [(f.leader_self, 2, 2)]
    assert [(a.label, b.label, w) for a, b, w in graph.bridges] in (
        [("Lena Leader", "Bea Klein", 1)], [("Bea Klein", "Lena Leader", 1)])


def test_nodes_are_colored_by_institution_or_neighborhood(app, federation):
    f = federation
    graph = _graph(app, f.organizer)
    assert graph.legend == ["St. Anne's", "Temple Beth"]  # the largest group first
    groups = {n.key: n.group for n in graph.nodes}
    assert groups[f"p{f.amir}"] == groups[f"p{f.carl}"] == groups[f"p{f.leader_self}"] == 0
    assert groups[f"p{f.bea}"] == 1
    assert groups[f"p{f.olga}"] is None and groups[f"u{f.organizer.id}"] is None

    by_place = _graph(app, f.organizer, color_by="neighborhood")
    assert by_place.legend == ["North Side"]
    groups = {n.key: n.group for n in by_place.nodes}
    assert groups[f"p{f.amir}"] == groups[f"p{f.carl}"] == 0 and groups[f"p{f.bea}"] is None


def test_filters_by_period_stage_and_institution(app, federation, stage_ids, move):
    from organizer.relational.services import local_today

    f = federation
    with app.app_context():
        today = local_today()
    recent = _graph(app, f.organizer, start=today - timedelta(days=30), end=today)
    assert frozenset((f"p{f.leader_self}", f"p{f.bea}")) not in _edges(recent)  # met 300 days ago
    assert _edges(recent)[frozenset((f"p{f.leader_self}", f"p{f.amir}"))] == (2, False)
    only_the_first = _graph(app, f.organizer, start=today - timedelta(days=5), end=today - timedelta(days=4))
    assert set(_edges(only_the_first)) == {frozenset((f"u{f.organizer.id}", f"p{f.carl}")),
                                           frozenset((f"u{f.other_leader.id}", f"p{f.olga}"))}

    temple = _graph(app, f.organizer, institution_id=f.temple)  # a one-to-one with one end of it
    assert set(_edges(temple)) == {frozenset((f"p{f.leader_self}", f"p{f.bea}"))}

    move(f.organizer, SimpleNamespace(id=f.leader_self), stage_ids["Leader"])
    leaders = _graph(app, f.organizer, stage_id=stage_ids["Leader"])
    assert set(_edges(leaders)) == {frozenset((f"p{f.leader_self}", f"p{f.amir}")),
                                    frozenset((f"p{f.leader_self}", f"p{f.bea}"))}
    contacts = _graph(app, f.organizer, stage_id=stage_ids["Contact"])  # nobody moved yet is a contact
    assert frozenset((f"u{f.organizer.id}", f"p{f.carl}")) in _edges(contacts)


def test_a_leader_sees_only_their_own_people_and_themselves(app, federation):
    f = federation
    graph = _graph(app, f.leader)
    # Their own person record is held by the organizer: they appear as their account ("you").
    assert {n.key for n in graph.nodes} == {f"u{f.leader.id}", f"p{f.amir}", f"p{f.bea}"}
    assert set(_edges(graph)) == {frozenset((f"u{f.leader.id}", f"p{f.amir}")),
                                  frozenset((f"u{f.leader.id}", f"p{f.bea}"))}
    assert graph.connectors == []  # their account is not a person: a leader's own list has none

    other = _graph(app, f.other_leader)
    assert {n.key for n in other.nodes} == {f"u{f.other_leader.id}", f"p{f.olga}"}


def test_the_json_never_carries_another_leaders_people(app, federation, login_as):
    f = federation
    body = login_as(f.leader).client.get("/pipeline/network.json?start=2000-01-01").get_data(as_text=True)
    assert "Amir Haddad" in body and "Bea Klein" in body
    for hidden in ("Olga", "Secretname", "Carl", "Lena", f'"p{f.olga}"', f'"p{f.carl}"', f'"p{f.leader_self}"',
                   f"/people/{f.olga}\"", f'"u{f.other_leader.id}"', f'"u{f.organizer.id}"'):
        assert hidden not in body, hidden
    others = login_as(f.other_leader).client
    body = others.get("/pipeline/network.json?start=2000-01-01").get_data(as_text=True)
    assert "Olga Secretname" in body
    assert "Amir" not in body and "Bea Klein" not in body and "Lena Leader" not in body
    page = others.get("/pipeline/network?start=2000-01-01").get_data(as_text=True)
    assert "Amir" not in page and "Bea Klein" not in page and "Lena Leader" not in page


def test_the_page_lists_connectors_and_bridges_and_links_the_json(app, federation, login_as):
    f = federation
    html = login_as(f.organizer).client.get(
        f"/pipeline/network?start=2000-01-01&institution={f.st_anne}&color=neighborhood").get_data(as_text=True)
    assert 'data-testid="network-connectors"' in html and f'data-person="{f.leader_self}"' in html
    assert "Lena Leader</a> — <a" in html  # the bridge to Bea
    assert "/pipeline/network.json?start=" in html and f"institution={f.st_anne}" in html
    assert "color=neighborhood" in html
    assert "vendor/cytoscape/cytoscape.min.js" in html and "js/network.js" in html


def test_above_the_limit_the_most_connected_are_kept_and_the_page_says_so(app, federation, login_as):
    f = federation
    app.config.update(NETWORK_MAX_NODES=3, NETWORK_MAX_EDGES=10)
    graph = _graph(app, f.organizer)
    assert graph.sampled and (len(graph.nodes), graph.total_nodes) == (3, 7)
    # Lena (met two people) first, then the people closest to her: the two she met.
    assert [n.key for n in graph.nodes] == [f"p{f.leader_self}", f"p{f.amir}", f"p{f.bea}"]
    assert all(e.source in graph.by_key and e.target in graph.by_key for e in graph.edges)

    data = login_as(f.organizer).client.get("/pipeline/network.json?start=2000-01-01").get_json()
    assert data["sampled"] and len(data["nodes"]) == 3 and data["total_nodes"] == 7
    html = login_as(f.organizer).client.get("/pipeline/network?start=2000-01-01").get_data(as_text=True)
    assert "Showing 3 of 7 people (the most connected and those closest to them)" in html
    assert "narrow the filters to see everyone" in html

    app.config.update(NETWORK_MAX_NODES=1)  # Lena alone is drawn; the tables still see everyone
    graph = _graph(app, f.organizer)
    assert [n.key for n in graph.nodes] == [f"p{f.leader_self}"] and graph.edges == []
    assert {a.label for a, _b, _w in graph.bridges} | {b.label for _a, b, _w in graph.bridges} == {
        "Lena Leader", "Bea Klein"}
    assert [c.label for c in graph.connectors] == ["Lena Leader"]

    app.config.update(NETWORK_MAX_NODES=300, NETWORK_MAX_EDGES=2)
    graph = _graph(app, f.organizer)
    assert graph.sampled and len(graph.edges) == 2 and graph.edges[0].weight == 2  # the strongest kept


def test_the_page_speaks_spanish(app, federation, login_as):
    html = login_as(federation.organizer).client.get(
        "/pipeline/network", headers={"Accept-Language": "es"}).get_data(as_text=True)
    for words in ("Red de relaciones", "Colorear por", "Puentes", "Personas cuyas relaciones llegan"):
        assert words in html, words


def test_an_empty_network_says_so(app, make_user, login_as):
    leader = make_user("leader")
    html = login_as(leader).client.get("/pipeline/network").get_data(as_text=True)
    assert "No one-to-ones between the people you can see in this period." in html
    assert login_as(leader).client.get("/pipeline/network.json").get_json()["nodes"] == []


def test_a_sample_keeps_the_hubs_and_first_those_who_met_several_of_them():
    from organizer.relational.network_graph import _sample

    # Two hubs with ten people each; "shared" met both; "pair" met only each other.
    adjacency: dict[str, dict[str, int]] = {"u1": {}, "u2": {}, "p900": {"p901": 1}, "p901": {"p900": 1}}
    for hub, first in (("u1", 100), ("u2", 200)):
        for n in range(first, first + 10):
            adjacency[hub][f"p{n}"] = 1
            adjacency[f"p{n}"] = {hub: 1}
    adjacency["u1"]["p500"] = adjacency["u2"]["p500"] = 1
    adjacency["p500"] = {"u1": 1, "u2": 1}

    chosen = list(_sample(adjacency, 20))
    assert len(chosen) == 20 and chosen[0] in ("u1", "u2") and chosen[2] == "p500"
    assert "p900" not in chosen and "p901" not in chosen  # a pair far from the hubs waits
    assert list(_sample(adjacency, 100))[0] in ("u1", "u2") and len(_sample(adjacency, 100)) == len(adjacency)


def test_the_period_is_the_last_three_months_unless_chosen(app, federation, login_as):
    from organizer.relational.services import local_today

    with app.app_context():
        today = local_today()
    client = login_as(federation.organizer).client
    html = client.get("/pipeline/network").get_data(as_text=True)
    assert f'name="start" value="{(today - timedelta(days=90)).isoformat()}"' in html
    assert f'name="end" value="{today.isoformat()}"' in html
    data = client.get("/pipeline/network.json").get_json()
    assert f"p{federation.bea}" not in {n["id"] for n in data["nodes"]}  # met 300 days ago
    swapped = client.get(f"/pipeline/network.json?start={today}&end=2000-01-01").get_json()
    assert f"p{federation.bea}" in {n["id"] for n in swapped["nodes"]}  # the two dates taken either way
