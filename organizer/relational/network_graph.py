"""The relational network drawn: people as nodes, one-to-ones as edges, for ``/pipeline/network``.

A one-to-one joins the person met and whoever held it. The holder is the person their account is
linked to (as on the connectors page, ``services.connectors``) when the viewer may see that
person; otherwise their account itself is a node (an organizer without a person record, or, for a
leader, "you"). Edges are undirected: the meetings of a pair in either direction add up to one
edge whose weight is their number.

Leaders see only the part made of their own people: edges between two of their people, or between
one of them and themselves (the one-to-ones they held). Another leader's person never reaches
them, not even as an anonymous node. Staff see everyone.

The pairs come from one SQL query (grouped in the database), the rest from its rows, in a fixed
number of queries. Above ``NETWORK_MAX_NODES`` people (or ``NETWORK_MAX_EDGES`` edges) the graph
keeps the most connected and those closest to them, with the strongest edges among them, and
says so (``Network.sampled``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import and_, case, func, inspect, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.util import ClauseAdapter

from organizer.auth.models import User
from organizer.extensions import db
from organizer.institutions.models import Institution, Membership
from organizer.people.models import Person
from organizer.people.services import people_visible_to
from organizer.relational.models import OneToOne, PersonPipeline
from organizer.relational.services import stages
from organizer.settings.models import Neighborhood

#: Colors the legend names one by one (``static/js/network.js`` and ``relational.css`` hold the
#: same palette); the groups beyond them share the "other" color.
PALETTE_SIZE = 10
COLOR_BY = ("institution", "neighborhood")
#: How many connectors and bridges the tables beside the graph list.
TABLE_LIMIT = 25
#: ``Person.display_name`` in SQL: the preferred name, else the first, then the last.
_display_name = func.coalesce(Person.preferred_name, Person.first_name) + " " + Person.last_name


@dataclass
class NetworkFilters:
    start: date
    end: date
    stage_id: int | None = None
    institution_id: int | None = None
    color_by: str = "institution"


@dataclass
class Node:
    key: str  # "p<person id>" or "u<account id>"
    label: str
    person_id: int | None
    degree: int  # distinct others met, in the whole filtered network
    group: int | None = None  # index in ``Network.legend``; None: no institution/neighborhood or "other"
    stage: str | None = None
    connector: bool = False
    institutions: frozenset[int] = frozenset()


@dataclass
class Edge:
    source: str
    target: str
    weight: int  # one-to-ones between the two in the period
    bridge: bool = False  # between people of different institutions (sharing none)


@dataclass
class Connector:
    key: str
    label: str
    person_id: int
    relationships: int
    institutions: int


@dataclass
class Network:
    nodes: list[Node]
    edges: list[Edge]
    legend: list[str]
    connectors: list[Connector]
    bridges: list[tuple[Node, Node, int]]
    total_nodes: int
    total_edges: int
    sampled: bool
    max_nodes: int
    max_edges: int
    by_key: dict[str, Node] = field(default_factory=dict)

    def as_json(self, person_url) -> dict:
        """What ``static/js/network.js`` draws; ``person_url(id)`` links a person's page."""
        return {
            "nodes": [{"id": n.key, "label": n.label, "url": person_url(n.person_id) if n.person_id else None,
                       "group": n.group, "connector": n.connector, "account": n.person_id is None,
                       "degree": n.degree} for n in self.nodes],
            "edges": [{"source": e.source, "target": e.target, "weight": e.weight, "bridge": e.bridge}
                      for e in self.edges],
            "legend": self.legend,
            "total_nodes": self.total_nodes, "total_edges": self.total_edges, "sampled": self.sampled,
        }


def _limits() -> tuple[int, int]:
    return current_app.config["NETWORK_MAX_NODES"], current_app.config["NETWORK_MAX_EDGES"]


def _pairs(user: User, filters: NetworkFilters):
    """The filtered network as a subquery of pairs: ``x`` (the person met), ``y`` (the holder's
    person) or ``yu`` (the holder's account), and ``w`` (their one-to-ones)."""
    holder = aliased(User)
    known = aliased(Person)  # the holder's person, when the viewer may see them
    # The one rule of who sees whom (``people_visible_to``), said of the holder's person too.
    known_visible = ClauseAdapter(inspect(known).selectable).traverse(people_visible_to(user))
    met = OneToOne.person_id
    # Plain columns (no IN lists in CASEs): SQLite re-evaluates a subquery's expressions in
    # the GROUP BY above, which made the large shape's network take a minute.
    ends = (
        select(met.label("a"), known.id.label("b"), case((known.id.is_(None), holder.id), else_=None).label("bu"))
        .join(Person, Person.id == met)
        .join(holder, holder.id == OneToOne.held_by_id)
        .outerjoin(known, and_(known.id == holder.person_id, known.archived_at.is_(None), known_visible))
        .where(OneToOne.held_on >= filters.start, OneToOne.held_on <= filters.end,
               people_visible_to(user), Person.archived_at.is_(None),
               or_(holder.person_id.is_(None), holder.person_id != met))
    )
    if not user.is_staff:
        # Their own people's meetings with each other or with them; nobody else's account.
        ends = ends.where(or_(holder.id == user.id, known.id.is_not(None)))
    if filters.stage_id:
        ends = ends.where(or_(_in_stage(met, filters.stage_id), _in_stage(holder.person_id, filters.stage_id)))
    if filters.institution_id:
        members = select(Membership.person_id).where(Membership.institution_id == filters.institution_id)
        ends = ends.where(or_(met.in_(members), holder.person_id.in_(members)))
    # Grouped as met and held; the two directions of a pair of people add up in Python.
    e = ends.subquery()
    return (select(e.c.a.label("x"), e.c.b.label("y"), e.c.bu.label("yu"), func.count().label("w"))
            .group_by(e.c.a, e.c.b, e.c.bu).subquery("pairs"))


def _in_stage(column, stage_id: int):
    """``column`` (a person id) is in the stage; people without a pipeline row are in the first."""
    all_stages = stages()
    rows = column.in_(select(PersonPipeline.person_id).where(PersonPipeline.stage_id == stage_id))
    if all_stages and stage_id == all_stages[0].id:
        return or_(rows, column.not_in(select(PersonPipeline.person_id)))
    return rows


def network_graph(user: User, filters: NetworkFilters) -> Network:
    """The network ``user`` may see under ``filters``: nodes, edges, legend, connectors and bridges.

    Five queries whatever the size (plus the stages, cached per request): the pairs (the one
    heavy query, run once; degrees, the sample and the connectors come from its rows), the
    memberships of the people the user may see, the shipped people's names, neighborhoods and
    stages, the accounts' names, and the names of the legend's groups.
    """
    max_nodes, max_edges = _limits()
    pairs = _pairs(user, filters)
    rows = db.session.execute(select(pairs.c.x, pairs.c.y, pairs.c.yu, pairs.c.w)).all()
    # Nodes as numbers while counting (a person's id, an account's id negated): strings for
    # 60,000 nodes cost more than the rest of the work.
    adjacency: dict[int, dict[int, int]] = defaultdict(dict)
    for x, y, yu, w in rows:
        b = y if y is not None else -yu
        adjacency[x][b] = adjacency[b][x] = adjacency[x].get(b, 0) + w
    total_edges = sum(map(len, adjacency.values())) // 2
    memberships: dict[int, frozenset[int]] = {}
    if rows:
        grouped: dict[int, set[int]] = defaultdict(set)
        for pid, iid in db.session.execute(
            select(Membership.person_id, Membership.institution_id).join(Person, Person.id == Membership.person_id)
            .where(people_visible_to(user), Person.archived_at.is_(None))
        ):
            grouped[pid].add(iid)
        memberships = {pid: frozenset(ids) for pid, ids in grouped.items()}

    chosen = _sample(adjacency, max_nodes)
    edge_rows = sorted(((a, b, w) for a in chosen for b, w in adjacency[a].items() if a < b and b in chosen),
                       key=lambda e: (-e[2], e[0], e[1]))
    sampled = len(chosen) < len(adjacency) or len(edge_rows) > max_edges
    edge_rows = edge_rows[:max_edges]
    found = _connectors(adjacency, memberships)
    # The strongest bridges of the whole filtered network, drawn or not (the table lists them).
    no_institution: frozenset[int] = frozenset()
    bridge_pairs = sorted(
        ((a, b, w) for a, others in adjacency.items() if a > 0 for b, w in others.items()
         if b > a and _bridge(memberships.get(a, no_institution), memberships.get(b, no_institution))),
        key=lambda t: (-t[2], t[0], t[1]))[:TABLE_LIMIT]

    people_ids = [k for k in chosen if k > 0]
    named_ids = set(people_ids) | {c.person_id for c in found} | {i for a, b, _w in bridge_pairs for i in (a, b)}
    people = {pid: (name, neighborhood, stage_id) for pid, name, neighborhood, stage_id in db.session.execute(
        select(Person.id, _display_name, Person.neighborhood_id, PersonPipeline.stage_id)
        .outerjoin(PersonPipeline, PersonPipeline.person_id == Person.id).where(Person.id.in_(named_ids))
    )} if named_ids else {}
    account_ids = [-k for k in chosen if k < 0]
    accounts = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(account_ids))).all()) \
        if account_ids else {}

    all_stages = stages()
    stage_names = {s.id: s.name for s in all_stages}
    first_stage = all_stages[0].name if all_stages else None
    connector_ids = {c.person_id for c in found}
    nodes: dict[str, Node] = {}
    for number in chosen:
        key = _key(number)
        if number > 0 and number in people:
            name, _nb, stage_id = people[number]
            nodes[key] = Node(key, name.strip(), number, len(adjacency[number]),
                              stage=stage_names.get(stage_id, first_stage), connector=number in connector_ids,
                              institutions=memberships.get(number, frozenset()))
        elif number < 0 and -number in accounts:
            nodes[key] = Node(key, accounts[-number], None, len(adjacency[number]))
    for c in found:
        c.label = people[c.person_id][0].strip() if c.person_id in people else c.label

    legend = _color(nodes, people, filters.color_by)
    edges = []
    for a_id, b_id, w in edge_rows:
        source, target = _key(a_id), _key(b_id)
        if source in nodes and target in nodes:
            a, b = nodes[source], nodes[target]
            edges.append(Edge(source, target, w, _bridge(a.institutions, b.institutions)))
    def named(pid: int) -> Node:
        return nodes.get(_key(pid)) or Node(_key(pid), people[pid][0].strip(), pid, len(adjacency[pid]))

    bridges = [(named(a), named(b), w) for a, b, w in bridge_pairs if a in people and b in people]
    return Network(list(nodes.values()), edges, legend, found, bridges, len(adjacency), total_edges, sampled,
                   max_nodes, max_edges, by_key=nodes)


def _bridge(one: frozenset[int], other: frozenset[int]) -> bool:
    """Two people of institutions, none in common: their one-to-ones bridge institutions."""
    return bool(one and other and not one & other)


def _key(number: int) -> str:
    """A node's key in the JSON: ``p<person id>``, or ``u<account id>`` for a negative number."""
    return f"p{number}" if number > 0 else f"u{-number}"


def _sample(adjacency: dict, max_nodes: int) -> dict:
    """The nodes to draw, most connected first: all of them up to ``max_nodes``. Above it, a tenth
    of the room goes to the most connected (the hubs: organizers, active leaders) and the rest to
    the people closest to them, those who met several hubs first (where the web crosses), so the
    drawing keeps the shape of the network instead of a scatter of unconnected hubs."""
    order = sorted(adjacency, key=lambda k: (-len(adjacency[k]), k))
    if len(order) <= max_nodes:
        return dict.fromkeys(order)
    chosen = dict.fromkeys(order[:max(1, max_nodes // 10)])
    touching: Counter = Counter()
    strength: Counter = Counter()
    for hub in chosen:
        for other, w in adjacency[hub].items():
            if other not in chosen:
                touching[other] += 1
                strength[other] += w
    for other in sorted(touching, key=lambda k: (-touching[k], -len(adjacency[k]), -strength[k], k)):
        if len(chosen) >= max_nodes:
            break
        chosen[other] = None
    for key in order:  # room left (hubs with few neighbors): the next most connected
        if len(chosen) >= max_nodes:
            break
        chosen.setdefault(key)
    return chosen


def _color(nodes: dict[str, Node], people: dict, color_by: str) -> list[str]:
    """Give each node the legend index of its institution (the first it belongs to) or its
    neighborhood; the ``PALETTE_SIZE`` largest groups get a color each, the rest share "other".
    One query for the groups' names."""
    group_of = {}
    for node in nodes.values():
        if node.person_id is None:
            continue
        if color_by == "neighborhood":
            group_of[node.key] = people[node.person_id][1]
        elif node.institutions:
            group_of[node.key] = min(node.institutions)
    sizes = Counter(g for g in group_of.values() if g is not None)
    largest = [g for g, _n in sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:PALETTE_SIZE]]
    model = Neighborhood if color_by == "neighborhood" else Institution
    names = dict(db.session.execute(select(model.id, model.name).where(model.id.in_(largest))).all()) \
        if largest else {}
    index = {g: i for i, g in enumerate(largest)}
    for key, g in group_of.items():
        nodes[key].group = index.get(g)
    return [names.get(g, "") for g in largest]


def _connectors(adjacency: dict[int, dict[int, int]], memberships: dict[int, frozenset[int]]) -> list[Connector]:
    """People whose relationships with other people in the filtered network reach two or more
    institutions, the most institutions first: the connectors page's definition
    (``services.connectors``), within the filters and the viewer's people."""
    found = []
    for number, others in adjacency.items():
        if number < 0:
            continue
        people = [k for k in others if k > 0]
        if len(people) < 2:  # a single neighbor: their own institutions (no set to build)
            reached = memberships.get(people[0], frozenset()) if people else frozenset()
        else:
            reached = set().union(*(memberships.get(pid, ()) for pid in people))
        if len(reached) >= 2:
            found.append(Connector(_key(number), "", number, len(people), len(reached)))
    found.sort(key=lambda c: (-c.institutions, -c.relationships, c.person_id))
    return found[:TABLE_LIMIT]
