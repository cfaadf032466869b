"""Stages and moves, the board, the funnel, time in stage and stalled people, accountability,
suggestions, the relational network and connectors, the stage admin."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from organizer.extensions import db
from organizer.relational.models import PersonPipeline, StageMove


def _today(app):
    from organizer.relational.services import local_today

    with app.app_context():
        return local_today()


def test_moving_a_person_records_who_when_and_why_and_shows_on_the_timeline(app, login_as, make_user, make_person, stage_ids):
    organizer = make_user("organizer")
    person = make_person()
    auth = login_as(organizer)
    response = auth.post("/pipeline/move", {"person_id": person.id, "stage_id": stage_ids["Prospect"],
                                            "reason": "Great first one-to-one"})
    assert response.status_code == 302
    with app.app_context():
        move = db.session.scalar(select(StageMove))
        assert (move.from_stage_id, move.to_stage_id, move.moved_by_id, move.reason) == (
            stage_ids["Contact"], stage_ids["Prospect"], organizer.id, "Great first one-to-one")
        assert db.session.get(PersonPipeline, person.id).stage_id == stage_ids["Prospect"]
    page = auth.client.get(f"/people/{person.id}").get_data(as_text=True)
    assert "Moved from Contact to Prospect" in page and "Great first one-to-one" in page
    # Moving to the stage they are in changes nothing.
    auth.post("/pipeline/move", {"person_id": person.id, "stage_id": stage_ids["Prospect"]})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StageMove)) == 1


def test_leader_moves_their_own_people_only(app, login_as, make_user, make_person, stage_ids):
    leader, other = make_user("leader"), make_user("leader")
    mine, theirs = make_person(owner=leader), make_person(owner=other)
    auth = login_as(leader)
    assert auth.post("/pipeline/move", {"person_id": mine.id, "stage_id": stage_ids["Prospect"]}).status_code == 302
    assert auth.post("/pipeline/move", {"person_id": theirs.id, "stage_id": stage_ids["Prospect"]}).status_code == 404
    with app.app_context():
        assert db.session.get(PersonPipeline, theirs.id) is None


def _column_counts(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="column-count">(\d+)<', html)]


def test_board_counts_match_the_database_and_cards_show_last_meeting_and_assessment(
        app, login_as, make_user, make_person, stage_ids, move, log_meeting):
    organizer = make_user("organizer")
    people = [make_person(first_name=f"Card{i}") for i in range(5)]
    move(organizer, people[0], stage_ids["Prospect"])
    move(organizer, people[1], stage_ids["Prospect"])
    move(organizer, people[2], stage_ids["Core leader"])
    log_meeting(organizer, people[3], assessment=5)
    html = login_as(organizer).client.get("/pipeline/board").get_data(as_text=True)
    assert _column_counts(html) == [2, 2, 0, 0, 1]
    assert "5/5" in html and "Last one-to-one" in html


def test_a_board_card_shows_the_name_people_use_their_institutions_and_a_move_form(
        app, login_as, make_user, make_person, make_institution, stage_ids, move):
    from organizer.institutions.models import Membership

    organizer = make_user("organizer")
    person = make_person(first_name="Guadalupe", preferred_name="Lupe", last_name="Ortiz")
    churches = [make_institution(name=name) for name in ("St. Pius", "Our Lady")]
    with app.app_context():
        db.session.add_all(Membership(person_id=person.id, institution_id=c.id) for c in churches)
        db.session.commit()
    move(organizer, person, stage_ids["Leader"])
    html = login_as(organizer).client.get("/pipeline/board").get_data(as_text=True)
    card = html[html.index(f'data-person-id="{person.id}"'):]
    card = card[:card.index("</article>")]
    assert f'href="/people/{person.id}">Lupe Ortiz</a>' in card
    assert "St. Pius, Our Lady" in card
    assert 'name="csrf_token" value="' in card and 'name="next" value="/pipeline/board?"' in card
    assert f'<option value="{stage_ids["Leader"]}" selected>Leader</option>' in card
    assert card.count("<option") == len(stage_ids) and card.count(" selected>") == 1


def test_board_counts_leave_out_archived_people_with_or_without_a_stage(
        app, login_as, make_user, make_person, stage_ids, move):
    from organizer.db import utcnow
    from organizer.people.models import Person

    organizer = make_user("organizer")
    kept = [make_person(owner=organizer, first_name=f"Kept{i}") for i in range(4)]
    gone = [make_person(owner=organizer, first_name=f"Gone{i}") for i in range(3)]
    for person in (kept[0], gone[0]):
        move(organizer, person, stage_ids["Prospect"])
    move(organizer, gone[1], stage_ids["Contact"])  # a pipeline row at the first stage
    with app.app_context():
        for person in gone:
            db.session.get(Person, person.id).archived_at = utcnow()
        db.session.commit()
    client = login_as(organizer).client
    everyone = _column_counts(client.get("/pipeline/board").get_data(as_text=True))
    assert everyone == [3, 1, 0, 0, 0]
    # The same people through a filter, which counts them another way.
    assert _column_counts(client.get(f"/pipeline/board?organizer={organizer.id}").get_data(as_text=True)) == everyone


def test_board_cards_show_how_many_actions_each_person_attended(
        login_as, make_user, make_person, make_action, add_rsvp):
    organizer = make_user("organizer")
    regular, newcomer = make_person(first_name="Regular"), make_person(first_name="Newcomer")
    for days in (-30, -20):
        add_rsvp(make_action(days=days), regular, came=True)
    add_rsvp(make_action(days=-10), newcomer, came=False)  # said yes, did not come
    html = login_as(organizer).client.get("/pipeline/board").get_data(as_text=True)
    card = lambda name: html[html.index(name):].split("</article>")[0]  # noqa: E731
    assert "2 actions attended" in card("Regular")
    assert "0 actions attended" in card("Newcomer")


def test_board_filters_by_institution_neighborhood_and_holder(app, login_as, make_user, make_person, make_institution):
    from organizer.institutions.models import Membership
    from organizer.settings.models import Neighborhood

    organizer, leader = make_user("organizer"), make_user("leader")
    church = make_institution()
    with app.app_context():
        hood = Neighborhood(name="Pilsen")
        db.session.add(hood)
        db.session.commit()
        hood_id = hood.id
    a = make_person(owner=leader, first_name="Inchurch", neighborhood_id=hood_id)
    make_person(owner=organizer, first_name="Elsewhere")
    with app.app_context():
        db.session.add(Membership(person_id=a.id, institution_id=church.id))
        db.session.commit()
    client = login_as(organizer).client
    for query in (f"institution={church.id}", f"neighborhood={hood_id}", f"leader={leader.id}"):
        html = client.get(f"/pipeline/board?{query}").get_data(as_text=True)
        assert "Inchurch" in html and "Elsewhere" not in html, query
    html = client.get(f"/pipeline/board?organizer={organizer.id}").get_data(as_text=True)
    assert "Elsewhere" in html and "Inchurch" not in html


def test_leader_board_shows_only_their_people(login_as, make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    make_person(owner=leader, first_name="Minecard")
    make_person(owner=other, first_name="Theircard")
    html = login_as(leader).client.get("/pipeline/board").get_data(as_text=True)
    assert "Minecard" in html and "Theircard" not in html
    assert sum(_column_counts(html)) == 1


def test_board_pages_each_column_and_links_to_the_people_list(app, login_as, make_user, make_person, monkeypatch, stage_ids):
    from organizer.relational import views

    monkeypatch.setattr(views, "BOARD_CARDS_PER_COLUMN", 2)
    organizer = make_user("organizer")
    names = [make_person(first_name=f"Neighbor{i}").first_name for i in range(5)]
    client = login_as(organizer).client

    def cards(url: str) -> list[str]:
        html = client.get(url).get_data(as_text=True)
        return re.findall(r'class="fw-semibold" href="/people/\d+">(Neighbor\d)', html)

    contact = stage_ids["Contact"]
    pages = [cards("/pipeline/board"), cards(f"/pipeline/board?page_{contact}=2"),
             cards(f"/pipeline/board?page_{contact}=3")]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(sum(pages, [])) == sorted(names)  # every card once, none twice
    html = client.get(f"/pipeline/board?page_{contact}=2").get_data(as_text=True)
    assert "Page 2 of 3" in html and f"page_{contact}=3" in html and f"page_{contact}=1" in html
    assert f"stage={contact}" in html and "All 5 in the people list" in html
    # A page past the end, or absurd, shows what there is rather than failing.
    assert client.get(f"/pipeline/board?page_{contact}=99999999999999999999").status_code == 200
    people = client.get(f"/people/?stage={contact}").get_data(as_text=True)
    assert "5 people" in people


def test_people_list_filters_by_stage(login_as, make_user, make_person, move, stage_ids):
    organizer = make_user("organizer")
    moved = make_person(first_name="Mover")
    make_person(first_name="Stayer")
    move(organizer, moved, stage_ids["Leader"])
    client = login_as(organizer).client
    leaders = client.get(f"/people/?stage={stage_ids['Leader']}").get_data(as_text=True)
    contacts = client.get(f"/people/?stage={stage_ids['Contact']}").get_data(as_text=True)
    assert "Mover" in leaders and "Stayer" not in leaders
    assert "Stayer" in contacts and "Mover" not in contacts


def test_funnel_counts_entries_in_the_period_and_later_moves(app, login_as, make_user, make_person, stage_ids, move):
    organizer = make_user("organizer")
    a, b, c = make_person(), make_person(), make_person()
    move(organizer, a, stage_ids["Prospect"])
    move(organizer, b, stage_ids["Prospect"])
    move(organizer, c, stage_ids["Prospect"])
    move(organizer, a, stage_ids["Emerging leader"])
    move(organizer, b, stage_ids["Leader"])  # skipping a stage still counts as moving on
    old = make_person(created_at=datetime.now(UTC) - timedelta(days=800))
    move(organizer, old, stage_ids["Prospect"])
    with app.app_context():  # the move happened long ago: outside the period
        db.session.execute(StageMove.__table__.update().where(StageMove.person_id == old.id)
                           .values(moved_at=datetime.now(UTC) - timedelta(days=700)))
        db.session.commit()
    html = login_as(organizer).client.get("/pipeline/funnel").get_data(as_text=True)
    rows = {
        name: (int(now), int(entered), int(moved))
        for name, now, entered, moved in re.findall(
            r'<tr data-stage="([^"]+)">.*?class="text-end now">(\d+)<.*?class="text-end entered">(\d+)<.*?'
            r'class="text-end moved">(\d+)<', html, re.S)
    }
    assert rows["Contact"] == (0, 3, 3)  # a, b, c were added in the period and all moved on; old was not
    assert rows["Prospect"] == (2, 3, 2)
    assert rows["Emerging leader"] == (1, 1, 0)
    assert rows["Leader"] == (1, 1, 0)
    assert "67%" in html
    assert "data-chart=" in html


def test_stalled_people_and_time_in_stage(app, login_as, make_user, make_person, stage_ids, move, log_meeting):
    organizer = make_user("organizer")
    stuck, fresh = make_person(first_name="Stuck"), make_person(first_name="Fresh")
    move(organizer, stuck, stage_ids["Prospect"])
    move(organizer, fresh, stage_ids["Prospect"])
    log_meeting(organizer, stuck, held_on=_today(app) - timedelta(days=200))
    with app.app_context():
        db.session.execute(PersonPipeline.__table__.update().where(PersonPipeline.person_id == stuck.id)
                           .values(entered_at=datetime.now(UTC) - timedelta(days=300)))
        db.session.commit()
    html = login_as(organizer).client.get("/pipeline/funnel?stalled_days=120").get_data(as_text=True)
    section = html.split('data-testid="stalled"')[1].split("</table>")[0]
    assert "Stuck" in section and "Fresh" not in section
    assert 'data-testid="stalled-count">1<' in html
    prospect_row = html.split('data-testid="time-in-stage"')[1].split("Prospect</td>")[1].split("</tr>")[0]
    assert re.findall(r">(\d+)<", prospect_row) == ["1", "0", "0", "1"]


def test_accountability_counts_this_week_and_month_against_goals(app, login_as, make_user, make_person, log_meeting):
    organizer = make_user("organizer", monthly_one_to_one_goal=4)
    leader = make_user("leader", monthly_one_to_one_goal=2)
    today = _today(app)
    for _ in range(2):
        log_meeting(organizer, make_person(), held_on=today)
    log_meeting(leader, make_person(owner=leader), held_on=today)
    log_meeting(organizer, make_person(), held_on=today - timedelta(days=70))  # an earlier month
    html = login_as(make_user("admin")).client.get("/pipeline/accountability").get_data(as_text=True)
    row = html.split(f'data-user="{organizer.email}"')[1].split("</tr>")[0]
    assert 'class="text-end week">2<' in row and 'class="text-end month">2<' in row and "50%" in row
    row = html.split(f'data-user="{leader.email}"')[1].split("</tr>")[0]
    assert 'class="text-end month">1<' in row and "50%" in row
    # A leader sees their own numbers against their goal, and nobody else's name.
    mine = login_as(leader).client.get("/pipeline/accountability").get_data(as_text=True)
    row = mine.split(f'data-user="{leader.email}"')[1].split("</tr>")[0]
    assert 'class="text-end month">1<' in row and "50%" in row
    assert organizer.email not in mine and organizer.name not in mine
    assert 'data-testid="accountability-institutions"' not in mine


def test_institutions_are_accountable_for_one_to_ones_against_their_goal_and_turnout_against_commitments(
        app, login_as, make_user, make_person, make_institution, make_action, log_meeting):
    from organizer.actions.models import Attendance, TurnoutCommitment
    from organizer.auth.models import User
    from organizer.institutions.models import Membership

    st_mark, other = make_institution(name="St. Mark", monthly_one_to_one_goal=4), make_institution(name="Temple")
    organizer = make_user("organizer")
    leader_person, member, outsider = make_person(first_name="Rosa"), make_person(), make_person()
    leader = make_user("leader")
    with app.app_context():
        db.session.get(User, leader.id).person_id = leader_person.id
        db.session.add_all([Membership(person_id=p.id, institution_id=st_mark.id) for p in (leader_person, member)])
        db.session.commit()
    today = _today(app)
    log_meeting(leader, make_person(owner=leader), held_on=today)     # by its leader, with an outsider
    log_meeting(organizer, member, held_on=today)                      # with its member, by staff
    log_meeting(organizer, outsider, held_on=today)                    # neither
    log_meeting(organizer, member, held_on=today - timedelta(days=70))  # an earlier month
    # Held a minute ago, or at the month's first moment in the federation's zone if that is later.
    from zoneinfo import ZoneInfo

    month_start = datetime.combine(today.replace(day=1), datetime.min.time(), ZoneInfo("America/Chicago"))
    held = make_action(starts_at=max(datetime.now(UTC) - timedelta(minutes=1), month_start.astimezone(UTC)))
    with app.app_context():
        db.session.add(TurnoutCommitment(action_id=held.id, institution_id=st_mark.id, number=5))
        db.session.add_all([Attendance(action_id=held.id, person_id=p.id) for p in (member, outsider)])
        db.session.commit()
    html = login_as(organizer).client.get("/pipeline/accountability").get_data(as_text=True)
    row = html.split(f'data-institution="{st_mark.id}"')[1].split("</tr>")[0]
    assert 'with-members">1<' in row and 'by-leaders">1<' in row and "25%" in row
    assert 'committed">5<' in row and 'delivered">1<' in row
    row = html.split(f'data-institution="{other.id}"')[1].split("</tr>")[0]
    assert 'with-members">0<' in row and 'by-leaders">0<' in row


def test_suggested_emerging_leaders_show_the_reason(app, login_as, make_user, make_person, log_meeting, stage_ids, move):
    from organizer.relational.models import CommitmentKind, CommitmentStatus
    from organizer.relational.services import CommitmentData

    organizer = make_user("organizer")
    strong, keeper, weak, already = (make_person(first_name=n) for n in ("Strong", "Keeper", "Weak", "Already"))
    for _ in range(2):
        log_meeting(organizer, strong, assessment=4)
        log_meeting(organizer, already, assessment=5)
        log_meeting(organizer, keeper, commitments=[CommitmentData(CommitmentKind.JOIN_TEAM)])
    log_meeting(organizer, weak, assessment=5)
    move(organizer, already, stage_ids["Leader"])
    with app.app_context():
        from organizer.relational.models import Commitment

        db.session.execute(Commitment.__table__.update().values(status=CommitmentStatus.KEPT))
        db.session.commit()
    html = login_as(organizer).client.get("/pipeline/suggestions").get_data(as_text=True)
    section = html.split('data-testid="suggestions"')[1]
    assert "Strong" in section and "2 assessments of 4 or 5" in section
    assert "Keeper" in section and "2 commitments kept" in section
    assert "Weak" not in section and "Already" not in section


def test_network_and_connectors(app, login_as, make_user, make_person, log_meeting):
    from organizer.auth.models import User
    from organizer.institutions.models import Institution, InstitutionType, Membership

    organizer = make_user("organizer")
    bridge_person = make_person(first_name="Bridge", owner=organizer)
    leader = make_user("leader")
    with app.app_context():
        db.session.get(User, leader.id).person_id = bridge_person.id
        a, b = Institution(name="St A", type=InstitutionType.CONGREGATION), Institution(name="St B", type=InstitutionType.SCHOOL)
        db.session.add_all([a, b])
        db.session.commit()
        inst = [a.id, b.id]
    met = [make_person(owner=leader, first_name=f"Met{i}") for i in range(2)]
    with app.app_context():
        db.session.add_all([Membership(person_id=met[0].id, institution_id=inst[0]),
                            Membership(person_id=met[1].id, institution_id=inst[1])])
        db.session.commit()
    for p in met:
        log_meeting(leader, p)
    log_meeting(leader, met[0])
    log_meeting(organizer, bridge_person)
    client = login_as(organizer).client
    page = client.get(f"/people/{bridge_person.id}").get_data(as_text=True)
    network = page.split('data-testid="network"')[1]
    assert "Met0" in network and "Met1" in network and "2 meetings" in network
    assert organizer.name in network.split("Who met them")[1]
    html = client.get("/pipeline/connectors").get_data(as_text=True)
    row = html.split(f'data-person="{bridge_person.id}"')[1].split("</tr>")[0]
    assert re.findall(r'class="text-end (\w+)">(\d+)<', row) == [
        ("relationships", "2"), ("institutions", "2"), ("neighborhoods", "0")]
    row = html.split(f'data-person="{met[0].id}"')[1].split("</tr>")[0]
    assert 'class="text-end relationships">1<' in row
    # A leader sees the network of their own people, but never names people outside their list.
    other_leader = make_user("leader")
    outsider = make_person(owner=other_leader, first_name="Outsider")
    with app.app_context():
        db.session.get(User, other_leader.id).person_id = met[1].id
        db.session.commit()
    log_meeting(other_leader, outsider, assessment=5)
    page = login_as(leader).client.get(f"/people/{met[1].id}").get_data(as_text=True)
    assert "Outsider" not in page and "someone outside your list" in page


def test_admin_manages_stages_and_issues(app, login_as, make_user, stage_ids):
    from organizer.relational.models import Issue, Stage

    admin = make_user("admin")
    auth = login_as(admin)
    assert auth.post("/admin/stages", {"new-name": "Organizer in training", "new-position": "6",
                                       "new-description": "Trains others"}).status_code == 302
    assert auth.post(f"/admin/stages/{stage_ids['Contact']}", {
        f"s{stage_ids['Contact']}-name": "First contact", f"s{stage_ids['Contact']}-position": "1",
        f"s{stage_ids['Contact']}-description": "Met once"}).status_code == 302
    response = auth.post("/admin/stages", {"new-name": "Prospect", "new-position": "7"})
    assert "already a stage" in response.get_data(as_text=True)
    assert auth.post("/admin/issues", {"name": "Water"}).status_code == 302
    with app.app_context():
        names = [s.name for s in db.session.scalars(select(Stage).order_by(Stage.position))]
        assert names[0] == "First contact" and names[-1] == "Organizer in training"
        assert db.session.scalar(select(Issue.id).where(Issue.name == "water")) is not None
    organizer = login_as(make_user("organizer"))
    assert organizer.client.get("/admin/stages").status_code == 403
    assert organizer.post("/admin/issues", {"name": "x"}).status_code == 403


def test_a_persons_page_draws_their_assessments_over_time_with_who_rated(app, login_as, make_user, make_person, log_meeting):
    organizer = make_user("organizer", name="Olga Organizer")
    leader = make_user("leader", name="Lupe Leader")
    person = make_person(owner=leader)
    today = _today(app)
    log_meeting(organizer, person, held_on=today - timedelta(days=60), assessment=2)
    log_meeting(leader, person, held_on=today - timedelta(days=30), assessment=3)
    log_meeting(organizer, person, held_on=today, assessment=4)
    log_meeting(organizer, person, held_on=today)  # not assessed: not a point

    html = login_as(organizer).client.get(f"/people/{person.id}").get_data(as_text=True)
    panel = html.split('data-testid="assessments"')[1].split("</section>")[0]
    assert re.findall(r'class="text-end score">(\d)/5', panel) == ["4", "3", "2"]  # newest first
    assert panel.count("Olga Organizer") == 2 and panel.count("Lupe Leader") == 1
    assert '"data": [2, 3, 4]' in panel  # the chart, oldest first
    # The leader sees the trend, but who else held a one-to-one is staff's to know.
    panel = login_as(leader).client.get(f"/people/{person.id}").get_data(as_text=True).split(
        'data-testid="assessments"')[1].split("</section>")[0]
    assert "Olga Organizer" not in panel and panel.count("another organizer") == 2 and "Lupe Leader" in panel


def test_raters_page_shows_each_raters_average_spread_and_who_they_disagree_on(app, login_as, make_user, make_person, log_meeting):
    strict, generous = make_user("organizer", name="Strict"), make_user("organizer", name="Generous")
    agreed, disputed, once = make_person(first_name="Agreed"), make_person(first_name="Disputed"), make_person(first_name="Once")
    today = _today(app)
    log_meeting(strict, agreed, held_on=today, assessment=3)
    log_meeting(generous, agreed, held_on=today, assessment=4)
    log_meeting(strict, disputed, held_on=today - timedelta(days=40), assessment=4)  # superseded by their later score
    log_meeting(strict, disputed, held_on=today, assessment=2)
    log_meeting(generous, disputed, held_on=today, assessment=5)
    log_meeting(generous, once, held_on=today, assessment=5)

    client = login_as(make_user("admin")).client
    html = client.get("/pipeline/raters").get_data(as_text=True)
    row = html.split(f'data-user="{strict.email}"')[1].split("</tr>")[0]
    # Strict: 3, 4, 2 → mean 3, spread sqrt(2/3) = 0.82
    assert 'count">3<' in row and 'average">3<' in row and 'spread">0.82<' in row
    assert 'score-2">1<' in row and 'score-3">1<' in row and 'score-4">1<' in row and 'score-5">0<' in row
    row = html.split(f'data-user="{generous.email}"')[1].split("</tr>")[0]
    assert 'count">3<' in row and 'average">4.67<' in row
    table = html.split('data-testid="disagreements"')[1]
    assert f'data-person="{disputed.id}"' in table and 'lowest">2<' in table and 'highest">5<' in table
    assert f'data-person="{agreed.id}"' not in table and f'data-person="{once.id}"' not in table
    assert "1 person whose raters" in html
