"""Campaign scorecards: performance measures computed from the campaign's own rows, population
results drawn against their baseline's forecast, entries audited, leaders turned away."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from organizer.extensions import db


@pytest.fixture
def campaign(app, make_user, make_institution, make_person, make_action, add_rsvp):
    """A campaign started 60 days ago with one institution of 6 members: 4 met (3 follow-ups due,
    2 done on time), one past action with 5 yes RSVPs of whom 4 came (and a walk-in), the
    institution's promise of 4 kept and a leader's promise of 3 not kept, 2 people moved up."""
    from organizer.actions.models import TurnoutCommitment
    from organizer.campaigns.models import Campaign, CampaignStatus
    from organizer.institutions.models import Membership
    from organizer.relational.models import OneToOne, StageMove
    from organizer.relational.services import local_today, stages
    from organizer.db import utcnow

    organizer, leader = make_user("organizer"), make_user("leader")
    church = make_institution(name="St. Anne")
    members = [make_person() for _ in range(6)]
    outsider = make_person()
    with app.app_context():
        today = local_today()
        c = Campaign(name="Right to counsel", status=CampaignStatus.ACTIVE, starts_on=today - timedelta(days=60))
        c.institutions = [db.session.get(type(church), church.id)]
        db.session.add(c)
        for p in members:
            db.session.add(Membership(person_id=p.id, institution_id=church.id))
        for i, p in enumerate(members[:4]):
            done = None
            follow = today - timedelta(days=5) if i < 3 else today + timedelta(days=5)
            if i < 2:
                done = utcnow() - timedelta(days=10)  # before the follow-up date: on time
            db.session.add(OneToOne(person_id=p.id, held_by_id=organizer.id, held_on=today - timedelta(days=20),
                                    follow_up_on=follow, follow_up_done_at=done))
        db.session.add(OneToOne(person_id=outsider.id, held_by_id=organizer.id, held_on=today - timedelta(days=20)))
        all_stages = stages()
        for p in members[:2]:
            db.session.add(StageMove(person_id=p.id, from_stage_id=all_stages[0].id, to_stage_id=all_stages[1].id,
                                     moved_at=utcnow() - timedelta(days=3)))
        db.session.commit()
        campaign_id = c.id
    action = make_action(days=-2, campaign_id=campaign_id)
    for i, p in enumerate(members[:5]):
        add_rsvp(action, p, "yes", came=i < 4, recruited_by=leader if i == 4 else None)
    add_rsvp(action, outsider, "no", came=True)
    with app.app_context():
        db.session.add(TurnoutCommitment(action_id=action.id, institution_id=church.id, number=4))
        db.session.add(TurnoutCommitment(action_id=action.id, leader_id=leader.id, number=3))
        db.session.commit()
    return campaign_id, organizer, leader


def _card(app, campaign_id):
    from organizer.relational.services import local_today
    from organizer.reports.scorecard import get_campaign, scorecard

    with app.test_request_context():
        card = scorecard(get_campaign(campaign_id), local_today(), 5)
        return {m.key: (m.current, m.numerator, m.denominator, m.baseline) for m in card.measures}


def test_performance_measures_are_counted_from_the_campaigns_rows(app, campaign):
    measures = _card(app, campaign[0])
    assert measures["one_to_ones"][0] == 4  # the outsider is not in the campaign's institutions
    assert measures["reached"][0] == 4
    assert measures["actions_held"][0] == 1
    assert measures["turned_out"][0] == 5  # four members and the walk-in
    assert measures["show_up_rate"][:3] == (4 / 5, 4, 5)
    assert measures["commitments_kept"][:3] == (1 / 2, 1, 2)  # St. Anne's 4 came; the leader's recruit did not
    assert measures["follow_ups_on_time"][:3] == (2 / 3, 2, 3)
    assert measures["moved_up"][0] == 2
    assert measures["new_leaders"][0] == 0
    assert measures["one_to_ones"][3] == 0  # baseline: nothing in the 61 days before


def test_a_follow_up_done_in_the_evening_of_its_day_is_on_time(app, campaign, make_person):
    """8 pm in the federation's zone on the day it was due is the next day in UTC: still on time."""
    from zoneinfo import ZoneInfo

    from organizer.campaigns.models import Campaign
    from organizer.institutions.models import Membership
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today
    from organizer.settings.services import get_organization

    campaign_id, organizer, _leader = campaign
    person = make_person()
    with app.app_context():
        zone = ZoneInfo(get_organization().timezone)
        due = local_today() - timedelta(days=4)
        evening = datetime.combine(due, time(20), tzinfo=zone)
        assert evening.astimezone(UTC).date() > due
        institution = db.session.get(Campaign, campaign_id).institutions[0]
        db.session.add(Membership(person_id=person.id, institution_id=institution.id))
        db.session.add(OneToOne(person_id=person.id, held_by_id=organizer.id, held_on=due - timedelta(days=7),
                                follow_up_on=due, follow_up_done_at=evening.astimezone(UTC)))
        db.session.commit()
    assert _card(app, campaign_id)["follow_ups_on_time"][:3] == (3 / 4, 3, 4)


def test_moves_into_the_leader_stages_count_as_new_leaders_in_the_period_and_its_baseline(app, campaign):
    """Read once for both measures, the moves still count apart: a move into Leader from below is
    a move up and a new leader; Leader to Core leader only a move up; a move down neither."""
    from organizer.campaigns.models import Campaign
    from organizer.db import utcnow
    from organizer.institutions.models import Membership
    from organizer.relational.models import StageMove
    from organizer.relational.services import stages

    with app.app_context():
        by_name = {s.name: s.id for s in stages()}
        members = list(db.session.scalars(select(Membership.person_id).order_by(Membership.person_id)))
        days_ago = (utcnow().date() - db.session.get(Campaign, campaign[0]).starts_on).days
        for person_id, from_stage, to_stage, when in (
            (members[2], "Emerging leader", "Leader", 1),
            (members[3], "Leader", "Core leader", 1),
            (members[4], "Emerging leader", "Prospect", 1),
            (members[5], "Prospect", "Leader", days_ago + 10),  # before the campaign: its baseline
        ):
            db.session.add(StageMove(person_id=person_id, from_stage_id=by_name[from_stage],
                                     to_stage_id=by_name[to_stage], moved_at=utcnow() - timedelta(days=when)))
        db.session.commit()
    measures = _card(app, campaign[0])
    assert measures["moved_up"][0] == 4  # the fixture's two, and the two moves up here
    assert measures["new_leaders"][0] == 1
    assert measures["moved_up"][3] == 1  # baseline: the period of the same length just before
    assert measures["new_leaders"][3] == 1


def test_a_win_an_indicator_and_its_points_are_entered_and_audited(app, campaign, login_as):
    from organizer.audit.models import AuditEvent
    from organizer.reports.models import CommunityIndicator

    campaign_id, organizer, _leader = campaign
    client = login_as(organizer)
    url = f"/campaigns/{campaign_id}/scorecard"
    assert client.post(f"{url}/wins", {"won_on": "2026-01-15", "description": "Council passed it"}).status_code == 302
    client.post(f"{url}/indicators", {"name": "Evictions filed per 1,000 renters", "baseline_on": "2024-12-31"})
    with app.app_context():
        indicator_id = db.session.scalar(select(CommunityIndicator.id))
    for day, value in (("2022-12-31", 30), ("2023-12-31", 32), ("2024-12-31", 34), ("2025-12-31", 31)):
        response = client.post(f"{url}/points", {"indicator_id": indicator_id, "observed_on": day, "value": value,
                                                  "source": "Court records"})
        assert response.status_code == 302
    html = client.client.get(url).get_data(as_text=True)
    assert "Council passed it" in html
    # The baseline rose 2 a year: the forecast for 2025 is 36; 31 is better (lower is better).
    assert "Yes: better than the forecast" in html and "36.0" in html
    with app.app_context():
        actions = [e.object_type for e in db.session.scalars(select(AuditEvent))]
        assert actions.count("indicator_points") == 4 and "campaign_wins" in actions


def test_a_second_value_on_the_same_day_is_refused_and_nothing_is_written(app, campaign, login_as):
    from organizer.reports.models import CommunityIndicator, IndicatorPoint

    campaign_id, organizer, _leader = campaign
    client = login_as(organizer)
    url = f"/campaigns/{campaign_id}/scorecard"
    client.post(f"{url}/indicators", {"name": "Rent burden"})
    with app.app_context():
        indicator_id = db.session.scalar(select(CommunityIndicator.id))
    form = {"indicator_id": indicator_id, "observed_on": "2025-06-30", "value": 0, "source": "ACS"}
    client.post(f"{url}/points", form)
    response = client.post(f"{url}/points", {**form, "value": 5}, follow_redirects=True)
    assert "already has a value for that date" in response.get_data(as_text=True)
    with app.app_context():
        assert [p.value for p in db.session.scalars(select(IndicatorPoint))] == [0]


def test_people_measures_are_split_by_group_with_small_cells_hidden(app, campaign, login_as):
    campaign_id, organizer, _leader = campaign
    html = login_as(organizer).client.get(f"/campaigns/{campaign_id}/scorecard").get_data(as_text=True)
    assert "By race/ethnicity (alone or in combination)" in html
    breakdown = html.split('data-testid="breakdown-1"')[1].split("</table>")[0]
    assert ">5<" in breakdown.split('data-group="Not recorded"')[1].split("</tr>")[0]  # turned out: 5
    for small in ("1", "2", "3", "4"):
        assert f'data-measure="moved_up">{small}<' not in breakdown


def test_a_measure_of_a_few_people_shows_as_small_but_a_figure_staff_entered_shows_whole(app, campaign, login_as):
    """Reached 4 and moved up 2 are people: "<5" in the measures as in the tables below; a
    target of 3 new leaders, typed by staff, names nobody and is shown as typed."""
    from organizer.reports.models import MeasureTarget

    campaign_id, organizer, _leader = campaign
    with app.app_context():
        db.session.add(MeasureTarget(campaign_id=campaign_id, measure="new_leaders", baseline=2, target=3))
        db.session.commit()
    html = login_as(organizer).client.get(f"/campaigns/{campaign_id}/scorecard").get_data(as_text=True)

    def row(measure):
        return html.split(f'data-measure="{measure}"')[1].split("</tr>")[0]

    assert "data-current>&lt;5<" in row("reached") and "data-current>&lt;5<" in row("moved_up")
    assert "data-current>5<" in row("turned_out")  # five people: shown
    assert "data-current>4<" in row("one_to_ones")  # meetings, not people
    assert "data-baseline>2*<" in row("new_leaders") and "data-target>3<" in row("new_leaders")


def test_in_spanish_a_target_is_a_goal_not_the_race_white(app, campaign, login_as):
    """"Target" is "Blanco" in the power analysis (whom a campaign presses), and "Blanco/a" is
    also the race "White": on a scorecard beside race tables, the value aimed at reads "Meta"."""
    from organizer.reports.models import CommunityIndicator

    campaign_id, organizer, _leader = campaign
    client = login_as(organizer)
    url = f"/campaigns/{campaign_id}/scorecard"
    assert client.post(f"{url}/indicators", {"name": "Desalojos", "baseline_on": "2024-12-31",
                                              "target_value": "20"}).status_code == 302
    with app.app_context():
        indicator_id = db.session.scalar(select(CommunityIndicator.id))
    for day, value in (("2024-12-31", 30), ("2025-12-31", 28)):
        client.post(f"{url}/points", {"indicator_id": indicator_id, "observed_on": day, "value": value, "source": "Corte"})
    html = client.client.get(url, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<th class="text-end">Meta</th>' in html  # the measures' column
    assert '<dt class="col-6">Meta</dt>' in html  # the indicator's
    assert '"label": "Meta"' in html  # its chart's line
    assert ">Blanco<" not in html


def test_leaders_get_404_on_the_scorecard(campaign, login_as):
    campaign_id, _organizer, leader = campaign
    client = login_as(leader)
    assert client.client.get(f"/campaigns/{campaign_id}/scorecard").status_code == 404
    assert client.post(f"/campaigns/{campaign_id}/scorecard/wins", {"won_on": "2026-01-01",
                                                                   "description": "x"}).status_code == 404


def test_the_scorecard_runs_the_same_number_of_queries_whatever_the_data(app, campaign, login_as, count_queries,
                                                                          make_person):
    from organizer.institutions.models import Membership
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today

    campaign_id, organizer, _leader = campaign
    client = login_as(organizer).client
    client.get(f"/campaigns/{campaign_id}/scorecard")
    counts = []
    for _round in range(2):
        with count_queries() as q:
            assert client.get(f"/campaigns/{campaign_id}/scorecard").status_code == 200
        counts.append(q.count)
        people = [make_person() for _ in range(50)]
        with app.app_context():
            church = db.session.scalar(select(Membership.institution_id))
            for person in people:
                db.session.add(Membership(person_id=person.id, institution_id=church))
                db.session.add(OneToOne(person_id=person.id, held_by_id=organizer.id, held_on=local_today()))
            db.session.commit()
    assert counts[0] == counts[1]
