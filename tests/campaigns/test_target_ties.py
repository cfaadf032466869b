"""The power map's own relationships: who among the targets influences whom (a donor, an
appointee, family), drawn on the map, and how our people reach a decision-maker through them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from organizer.audit.models import AuditEvent
from organizer.auth.models import User
from organizer.campaigns import services
from organizer.campaigns.models import Campaign, Position, RelationshipKind, Target, TargetTie, TieKind
from organizer.extensions import db
from organizer.people.models import Person


@pytest.fixture
def city(app, make_user):
    """Two campaigns: the bus campaign's map has the mayor (the decision-maker) and four others;
    the housing campaign's map has only a judge."""
    staff = make_user()
    with app.app_context():
        bus = services.save_campaign(None, services.CampaignData(name="Fix the bus"), staff)
        housing = services.save_campaign(None, services.CampaignData(name="Stop the evictions"), staff)
        ids = {}
        for name in ("Mayor", "Xavier", "Xiomara", "Yolanda", "Zed", "Rival"):
            target = services.save_target(None, services.TargetData(name=name), staff)
            services.put_on_map(bus, target, Position.UNDECIDED, 3, staff)
            ids[name] = target.id
        judge = services.save_target(None, services.TargetData(name="Judge"), staff)
        services.put_on_map(housing, judge, Position.UNDECIDED, 3, staff)
        ids["Judge"] = judge.id
        db.session.commit()
        return SimpleNamespace(staff=staff, bus=bus.id, housing=housing.id, **ids)


def _target(target_id: int) -> Target:
    return db.session.get(Target, target_id)


def _tie(city, a: str, kind: TieKind, b: str, strength: int = 2, **kwargs) -> TargetTie:
    return services.add_tie(_target(getattr(city, a)), _target(getattr(city, b)), kind, city.staff,
                            strength=strength, **kwargs)


# --- the rules ----------------------------------------------------------------------------


def test_a_target_cannot_have_a_relationship_with_themselves(app, city):
    with app.app_context():
        with pytest.raises(services.CampaignError, match="themselves"):
            _tie(city, "Mayor", TieKind.FAMILY, "Mayor")
        # and the database refuses it too, whatever code writes
        db.session.add(TargetTie(from_target_id=city.Mayor, to_target_id=city.Mayor, kind=TieKind.ALLY))
        with pytest.raises(IntegrityError):
            db.session.flush()


def test_the_same_relationship_twice_is_refused_but_a_directed_one_may_go_both_ways(app, city):
    with app.app_context():
        family = _tie(city, "Mayor", TieKind.FAMILY, "Xavier")
        with pytest.raises(services.CampaignError, match="already recorded"):
            _tie(city, "Xavier", TieKind.FAMILY, "Mayor")  # the same family tie, read from the other end
        _tie(city, "Mayor", TieKind.DONOR, "Xavier")
        _tie(city, "Xavier", TieKind.DONOR, "Mayor")  # each gives to the other: two relationships
        with pytest.raises(services.CampaignError, match="already recorded"):
            _tie(city, "Xavier", TieKind.DONOR, "Mayor")
        db.session.commit()
        kinds = sorted((t.from_target_id == city.Mayor, t.kind.value) for t in db.session.scalars(select(TargetTie)))
        assert kinds == [(False, "donor"), (True, "donor"), (True, "family")]
        assert family.from_target_id == min(city.Mayor, city.Xavier)


def test_targets_on_no_common_power_map_cannot_be_related(app, city):
    with app.app_context():
        with pytest.raises(services.CampaignError, match="same campaign"):
            _tie(city, "Mayor", TieKind.ALLY, "Judge")
        # Once the judge is on the bus campaign's map too, they may be.
        services.put_on_map(db.session.get(Campaign, city.bus), _target(city.Judge), Position.ALLY, 2, city.staff)
        assert _tie(city, "Mayor", TieKind.ALLY, "Judge").to_target_id == city.Judge


def test_strength_goes_from_one_to_three(app, city):
    with app.app_context(), pytest.raises(services.CampaignError, match="1 to 3"):
        _tie(city, "Mayor", TieKind.ALLY, "Xavier", strength=4)


def test_a_direction_read_from_the_other_end_is_stored_the_right_way_round(app, city):
    with app.app_context():
        tie = _tie(city, "Xavier", TieKind.APPOINTED, "Mayor", outgoing=False)  # Xavier was appointed by the mayor
        assert (tie.from_target_id, tie.to_target_id) == (city.Mayor, city.Xavier)


# --- the target page's forms --------------------------------------------------------------


def test_staff_add_and_remove_a_relationship_on_the_target_page_audited(app, city, login_as):
    client = login_as(city.staff)
    page = client.client.get(f"/campaigns/targets/{city.Xavier}").get_data(as_text=True)
    assert "Add a relationship with another target" in page
    response = client.post(f"/campaigns/targets/{city.Xavier}/ties", {
        "kind": "appointed_by", "other_target_id": city.Mayor, "strength": "3", "note": "Named him in May"})
    assert response.status_code == 302
    with app.app_context():
        tie = db.session.scalar(select(TargetTie))
        assert (tie.from_target_id, tie.kind, tie.to_target_id, tie.strength, tie.note) == (
            city.Mayor, TieKind.APPOINTED, city.Xavier, 3, "Named him in May")
        assert tie.created_by_id == city.staff.id
        added = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tie"))
        assert (added.object_id, added.details["kind"], added.details["from_target_id"]) == (
            city.Xavier, "appointed", city.Mayor)
        tie_id = tie.id
    page = client.client.get(f"/campaigns/targets/{city.Xavier}").get_data(as_text=True)
    assert "Xavier was appointed by" in " ".join(page.split()) and "Named him in May" in page
    mayor_page = " ".join(client.client.get(f"/campaigns/targets/{city.Mayor}").get_data(as_text=True).split())
    assert "Mayor appointed" in mayor_page

    assert client.post(f"/campaigns/targets/{city.Xavier}/ties/{tie_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TargetTie)) == 0
        removed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tie_removed"))
        assert (removed.object_id, removed.details["tie_id"], removed.details["kind"]) == (
            city.Xavier, tie_id, "appointed")
    # pressed again: nothing left to remove, said so
    again = client.post(f"/campaigns/targets/{city.Xavier}/ties/{tie_id}/delete")
    assert again.status_code == 302
    assert "already removed" in client.client.get(again.headers["Location"]).get_data(as_text=True)


def test_the_add_form_carries_the_idempotency_token(app, city, login_as):
    from organizer.submissions.services import FIELD_NAME

    page = login_as(city.staff).client.get(f"/campaigns/targets/{city.Xavier}").get_data(as_text=True)
    form = page.split('/ties"')[1].split("</form>")[0]
    assert f'name="{FIELD_NAME}"' in form


def test_a_bad_relationship_form_writes_nothing_and_says_why(app, city, login_as):
    client = login_as(city.staff)
    for data, message in (({"kind": "family", "other_target_id": "", "strength": "2"},
                           "Choose the other target and the relationship."),
                          ({"kind": "family", "other_target_id": city.Judge, "strength": "2"},
                           "Choose the other target and the relationship."),  # not offered: not on a common map
                          ({"kind": "bribes", "other_target_id": city.Mayor, "strength": "2"},
                           "Choose the other target and the relationship."),
                          ({"kind": "family", "other_target_id": city.Xavier, "strength": "2"},
                           "Choose the other target and the relationship.")):  # themselves: not offered
        response = client.post(f"/campaigns/targets/{city.Xavier}/ties", data)
        assert response.status_code == 302
        assert message in client.client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TargetTie)) == 0
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "tie")) == 0


def test_removing_a_relationship_between_two_other_targets_is_not_found(app, city, login_as):
    with app.app_context():
        tie_id = _tie(city, "Mayor", TieKind.ALLY, "Yolanda").id
        db.session.commit()
    client = login_as(city.staff)
    assert client.post(f"/campaigns/targets/{city.Xavier}/ties/{tie_id}/delete").status_code == 404
    with app.app_context():
        assert db.session.get(TargetTie, tie_id) is not None


def test_leaders_read_the_relationships_but_cannot_change_them(app, city, make_user, login_as):
    with app.app_context():
        tie_id = _tie(city, "Mayor", TieKind.DONOR, "Xavier", note="Gave $5,000").id
        db.session.commit()
    client = login_as(make_user("leader"))
    page = client.client.get(f"/campaigns/targets/{city.Mayor}").get_data(as_text=True)
    assert "Gave $5,000" in page and "Add a relationship with another target" not in page
    assert client.post(f"/campaigns/targets/{city.Mayor}/ties",
                       {"kind": "ally", "other_target_id": city.Yolanda, "strength": "2"}).status_code == 403
    assert client.post(f"/campaigns/targets/{city.Mayor}/ties/{tie_id}/delete").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TargetTie)) == 1


# --- drawn on the power map ---------------------------------------------------------------


def test_the_power_map_lists_the_relationships_among_its_own_targets(app, city, login_as):
    with app.app_context():
        services.put_on_map(db.session.get(Campaign, city.housing), _target(city.Zed), Position.ALLY, 2, city.staff)
        _tie(city, "Mayor", TieKind.DONOR, "Xavier", strength=3)
        _tie(city, "Zed", TieKind.FAMILY, "Judge")  # on the housing map only
        db.session.commit()
    client = login_as(city.staff).client
    page = client.get(f"/campaigns/{city.bus}/power-map").get_data(as_text=True)
    table = page.split('data-testid="tie-table"')[1].split("</table>")[0]
    assert table.count("<tr data-tie-from") == 1
    assert f'data-tie-from="{city.Mayor}" data-tie-to="{city.Xavier}" data-tie-kind="donor"' in table
    assert "donates to" in table and "Strong" in table and "Judge" not in table
    assert 'data-testid="tie-lines"' in page and f'data-target-id="{city.Mayor}"' in page
    assert "js/power-map.js" in page
    legend = page.split('data-testid="tie-legend"')[1].split("</ul>")[0]
    assert all(label in legend for label in ("Donor", "Appointee", "Family", "Political rival"))
    housing = client.get(f"/campaigns/{city.housing}/power-map").get_data(as_text=True)
    assert housing.split('data-testid="tie-table"')[1].count("<tr data-tie-from") == 1


def test_a_power_map_without_relationships_says_where_to_record_them(app, city, login_as):
    page = login_as(city.staff).client.get(f"/campaigns/{city.bus}/power-map").get_data(as_text=True)
    assert "No relationships between these targets yet." in page and 'data-testid="tie-lines"' not in page


def test_the_power_map_with_relationships_stays_in_a_fixed_number_of_queries(app, city, login_as, count_queries):
    client = login_as(city.staff).client
    pairs = [("Mayor", "Xavier"), ("Xavier", "Yolanda"), ("Yolanda", "Zed"), ("Zed", "Xiomara"), ("Mayor", "Zed")]

    def measure() -> int:
        with count_queries() as q:
            assert client.get(f"/campaigns/{city.bus}/power-map").status_code == 200
        return q.count

    with app.app_context():
        _tie(city, *pairs[0][:1], TieKind.ALLY, pairs[0][1])
        db.session.commit()
    small = measure()
    with app.app_context():
        for a, b in pairs[1:]:
            _tie(city, a, TieKind.ALLY, b)
        db.session.commit()
    assert measure() == small


# --- how we reach a decision-maker ------------------------------------------------------------


@pytest.fixture
def web(app, city, make_person):
    """The mayor's circle. Xavier is tied to the mayor weakly, Xiomara strongly; Yolanda to
    Xavier; Zed to Yolanda (too far); Rival is the mayor's rival (no way in). One of our people
    knows each, and one knows the mayor directly."""
    people = {name: make_person(first_name=name) for name in (
        "Direct", "ViaXavier", "ViaXiomara", "ViaYolanda", "ViaZed", "ViaRival", "Nobody")}
    with app.app_context():
        _tie(city, "Xavier", TieKind.ALLY, "Mayor", strength=1)
        _tie(city, "Xiomara", TieKind.DONOR, "Mayor", strength=3)
        _tie(city, "Yolanda", TieKind.FAMILY, "Xavier", strength=3)
        _tie(city, "Zed", TieKind.MENTOR, "Yolanda", strength=3)
        _tie(city, "Rival", TieKind.RIVAL, "Mayor", strength=3)
        for person, target in (("Direct", "Mayor"), ("ViaXavier", "Xavier"), ("ViaXiomara", "Xiomara"),
                               ("ViaYolanda", "Yolanda"), ("ViaZed", "Zed"), ("ViaRival", "Rival")):
            services.add_relationship(_target(getattr(city, target)), RelationshipKind.CONSTITUENT, city.staff,
                                      person=db.session.get(Person, people[person].id))
        db.session.commit()
    return people


def _paths(app, city, user):
    with app.app_context():
        reach = services.paths_to(_target(city.Mayor), db.session.get(User, user.id))
        return [(p.reacher.relationship.person.first_name, p.hops, p.strength,
                 [reach.targets[s.start].name for s in p.steps]) for p in reach.paths], reach.hidden


def test_paths_go_direct_then_through_one_then_two_targets_and_no_further(app, city, web):
    paths, hidden = _paths(app, city, city.staff)
    assert paths == [
        ("Direct", 1, 3, []),
        ("ViaXiomara", 2, 3, ["Xiomara"]),  # as short as through Xavier, and the stronger tie
        ("ViaXavier", 2, 1, ["Xavier"]),
        ("ViaYolanda", 3, 1, ["Yolanda", "Xavier"]),  # the weakest tie on the way counts
    ]
    # Zed is four hops away; a rival is no way in; nobody knows "Nobody"'s target.
    assert hidden == 0


def test_a_person_gets_their_best_path_and_equally_good_paths_go_by_pipeline_stage(app, city, web, make_person):
    from organizer.relational.models import Stage
    from organizer.relational.services import move_person

    leading = make_person(first_name="Leading")
    with app.app_context():
        staff = db.session.get(User, city.staff.id)
        move_person(db.session.get(Person, leading.id), db.session.scalar(select(Stage).where(Stage.name == "Leader")),
                    staff, "Chairs the team")
        for target in ("Xiomara", "Yolanda"):  # two ways in: the shorter one is kept
            services.add_relationship(_target(getattr(city, target)), RelationshipKind.WORKED_WITH, city.staff,
                                      person=db.session.get(Person, leading.id))
        db.session.commit()
    paths, _hidden = _paths(app, city, city.staff)
    assert [name for name, *_rest in paths] == ["Direct", "Leading", "ViaXiomara", "ViaXavier", "ViaYolanda"]
    assert paths[1] == ("Leading", 2, 3, ["Xiomara"])


def test_a_decision_maker_nobody_reaches_has_no_paths(app, city, web):
    with app.app_context():
        reach = services.paths_to(_target(city.Judge), db.session.get(User, city.staff.id))
        assert (reach.paths, reach.hidden) == ([], 0)


def test_an_institution_reaches_through_targets_too(app, city, make_institution):
    church = make_institution(name="St. Mark's")
    with app.app_context():
        _tie(city, "Xavier", TieKind.EMPLOYER, "Mayor")
        services.add_relationship(_target(city.Xavier), RelationshipKind.CONGREGANT, city.staff,
                                  institution=db.session.get(type(church), church.id))
        db.session.commit()
        reach = services.paths_to(_target(city.Mayor), db.session.get(User, city.staff.id))
        assert [(p.reacher.relationship.institution.name, p.hops) for p in reach.paths] == [("St. Mark's", 2)]


def test_a_leader_sees_their_own_peoples_paths_and_only_a_count_of_the_others(app, city, make_user, make_person,
                                                                               login_as):
    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader, first_name="Minerva")
    theirs = make_person(owner=other, first_name="Theodora")
    with app.app_context():
        _tie(city, "Xavier", TieKind.ALLY, "Mayor")
        _tie(city, "Yolanda", TieKind.ALLY, "Xavier")
        services.add_relationship(_target(city.Yolanda), RelationshipKind.CONSTITUENT, city.staff,
                                  person=db.session.get(Person, mine.id))
        services.add_relationship(_target(city.Xavier), RelationshipKind.CONSTITUENT, city.staff,
                                  person=db.session.get(Person, theirs.id))
        db.session.commit()
    assert _paths(app, city, leader) == ([("Minerva", 3, 2, ["Yolanda", "Xavier"])], 1)
    assert _paths(app, city, other) == ([("Theodora", 2, 2, ["Xavier"])], 1)
    page = login_as(leader).client.get(f"/campaigns/targets/{city.Mayor}").get_data(as_text=True)
    paths = page.split('data-testid="reach-paths"')[1]
    assert "Minerva" in paths and "Theodora" not in page
    assert "and 1 more person outside your list" in paths
    staff_page = login_as(city.staff).client.get(f"/campaigns/targets/{city.Mayor}").get_data(as_text=True)
    staff_paths = staff_page.split('data-testid="reach-paths"')[1].split("</ol>")[0]
    assert staff_paths.index("Theodora") < staff_paths.index("Minerva")


def test_the_target_page_shows_the_chain_in_words(app, city, web, login_as):
    page = login_as(city.staff).client.get(f"/campaigns/targets/{city.Mayor}").get_data(as_text=True)
    paths = " ".join(page.split('data-testid="reach-paths"')[1].split("</ol>")[0].split())
    assert "How we reach Mayor" in page
    assert "knows Mayor directly" in paths
    assert "Xiomara</a> → <span class=\"text-muted\">donates to (strong)</span> <strong>Mayor</strong>" in paths
    assert "ViaZed" not in paths and "ViaRival" not in paths


def test_the_target_page_stays_in_a_fixed_number_of_queries(app, city, make_person, login_as, count_queries):
    client = login_as(city.staff).client
    chain = ["Mayor", "Xavier", "Yolanda", "Zed", "Xiomara"]

    def grow(n: int) -> None:
        people = {name: make_person(first_name=f"Knows{name}{n}") for name in chain[:n + 1]}
        with app.app_context():
            for a, b in zip(chain[:n], chain[1:n + 1], strict=True):
                if not db.session.scalar(select(TargetTie.id).where(
                        TargetTie.from_target_id == min(getattr(city, a), getattr(city, b)),
                        TargetTie.to_target_id == max(getattr(city, a), getattr(city, b)))):
                    _tie(city, a, TieKind.ALLY, b)
            for name, person in people.items():
                services.add_relationship(_target(getattr(city, name)), RelationshipKind.OTHER, city.staff,
                                          person=db.session.get(Person, person.id))
            db.session.commit()

    def measure() -> int:
        with count_queries() as q:
            assert client.get(f"/campaigns/targets/{city.Mayor}").status_code == 200
        return q.count

    grow(1)
    small = measure()
    grow(4)
    assert measure() == small


def test_the_relationships_read_in_spanish(app, city, web, login_as):
    client = login_as(city.staff).client
    spanish = {"Accept-Language": "es"}
    page = client.get(f"/campaigns/targets/{city.Mayor}", headers=spanish).get_data(as_text=True)
    assert "Cómo llegamos a Mayor" in page and "Relaciones con otros blancos" in page
    assert "dona a" in page
    grid = client.get(f"/campaigns/{city.bus}/power-map", headers=spanish).get_data(as_text=True)
    assert "Relaciones entre blancos" in grid and "Rival político" in grid


def test_the_demo_shows_relationships_on_the_map_and_paths_through_them(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@demo.local"))
        bus = db.session.scalar(select(Campaign).where(Campaign.name == "Fix the Route 9 bus"))
        kinds = {tie.kind for tie in services.power_map(bus, admin).ties}
        assert {TieKind.APPOINTED, TieKind.FAMILY} <= kinds
        wages = db.session.scalar(select(Campaign).where(Campaign.name == "Living wage for city contractors"))
        assert TieKind.DONOR in {tie.kind for tie in services.power_map(wages, admin).ties}
        president = db.session.scalar(select(Target).where(Target.name == "Victor Lang"))
        reach = services.paths_to(president, admin)
        through_the_chair = [p for p in reach.paths if p.steps and reach.targets[p.steps[0].start].name == "Dorothy Mensah"]
        assert through_the_chair and through_the_chair[0].hops == 2
