"""Fixtures the reports' tests share."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from organizer.extensions import db


@pytest.fixture
def world(app, make_user):
    """Forty people with random races, neighborhoods, languages and memberships, a year of
    one-to-ones, past actions of a campaign with RSVPs and check-ins, and texts."""
    from organizer.actions.models import (
        Action,
        ActionType,
        Attendance,
        Rsvp,
        RsvpSource,
        RsvpStatus,
    )
    from organizer.campaigns.models import Campaign
    from organizer.institutions.models import Institution, InstitutionType, Membership
    from organizer.people.models import Person, PersonRaceEthnicity, RaceEthnicity
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today
    from organizer.settings.models import Neighborhood

    rng = random.Random(2026)  # noqa: S311 - test data
    organizer = make_user("organizer")
    with app.app_context():
        today = local_today()
        now = datetime.now(UTC)
        hoods = [Neighborhood(name=n) for n in ("Alta", "Baja", "Centro")]
        churches = [Institution(name=n, type=InstitutionType.CONGREGATION) for n in ("San José", "Bethel")]
        db.session.add_all(hoods + churches)
        db.session.flush()
        campaign = Campaign(name="Housing", issue="housing", starts_on=today - timedelta(days=200))
        campaign.institutions = [churches[0]]
        db.session.add(campaign)
        actions = [Action(title=f"Action {i}", type=ActionType.HEARING, campaign=campaign, timezone="UTC",
                          starts_at=now - timedelta(days=20 * i + 1), ends_at=now - timedelta(days=20 * i))
                   for i in range(1, 4)]
        db.session.add_all(actions)
        people = []
        for i in range(40):
            races = rng.sample(list(RaceEthnicity), rng.choice([0, 1, 1, 1, 2]))
            person = Person(first_name=f"Vecina{i}", last_name="Prueba", neighborhood=rng.choice(hoods + [None]),
                            preferred_language=rng.choice(["es", "en", ""]),
                            race_ethnicities=[PersonRaceEthnicity(value=r) for r in races])
            db.session.add(person)
            db.session.flush()
            people.append(person)
            if rng.random() < 0.6:
                db.session.add(Membership(person_id=person.id, institution_id=rng.choice(churches).id))
            for _ in range(rng.choice([0, 0, 1, 2, 3])):
                db.session.add(OneToOne(person_id=person.id, held_by_id=organizer.id,
                                        held_on=today - timedelta(days=rng.randrange(0, 330))))
            for action in actions:
                if rng.random() < 0.4:
                    db.session.add(Rsvp(action=action, person_id=person.id, status=RsvpStatus.YES,
                                        source=RsvpSource.ORGANIZER))
                    if rng.random() < 0.7:
                        db.session.add(Attendance(action=action, person_id=person.id))
        db.session.commit()
        ids = [p.id for p in people]
        campaign_id = campaign.id
        church_ids = [c.id for c in churches]
        action_ids = [a.id for a in actions]
    return {"organizer": organizer, "people": ids, "campaign": campaign_id, "churches": church_ids,
            "actions": action_ids, "rng": rng}


SPLITS = ("race", "neighborhood", "institution", "language", "race_neighborhood")


@pytest.fixture
def computed(monkeypatch):
    """How many times the dashboard's and scorecard's counting queries really ran (the dashboard's
    from scratch, or for the people whose data changed)."""
    from organizer.reports import scorecard, services

    calls = {"equity": 0, "equity_changed_people": 0, "scorecard": 0}
    records, measures = services._person_records, scorecard._compute_measures

    def counting_records(query, all_stages, only):
        calls["equity"] += 1
        calls["equity_changed_people"] += only is not None
        return records(query, all_stages, only)

    def counting_measures(*args, **kwargs):
        calls["scorecard"] += 1
        return measures(*args, **kwargs)

    monkeypatch.setattr(services, "_person_records", counting_records)
    monkeypatch.setattr(scorecard, "_compute_measures", counting_measures)
    return calls


def assert_same_as_from_scratch(app) -> None:
    """Every split's counts and the scorecard, through the cache, equal a computation without it."""
    from organizer.relational.services import local_today
    from organizer.reports.scorecard import get_campaign, scorecard
    from organizer.reports.services import EquityQuery, Period, default_period, equity_report

    def figures():
        out = {}
        today = local_today()
        queries = [EquityQuery(default_period(today), split=split, race_mode=mode)
                   for split in SPLITS for mode in ("combination", "multiracial")]
        queries += [EquityQuery(default_period(today), trend=trend) for trend in ("reached", "attended")]
        queries.append(EquityQuery(Period(today - timedelta(days=45), today), split="neighborhood"))
        for query in queries:
            report = equity_report(query)
            out[query] = (report.cells, report.hidden)
        for campaign_id in db.session.scalars(text("SELECT id FROM campaigns")):
            card = scorecard(get_campaign(campaign_id), local_today(), 5)
            out[campaign_id] = ([(m.key, m.current, m.numerator, m.denominator, m.baseline) for m in card.measures],
                                [(b.cells, b.hidden) for b in card.breakdowns])
        return out

    with app.test_request_context():
        cached = figures()
        app.config["REPORTS_CACHE"] = False
        try:
            fresh = figures()
        finally:
            app.config["REPORTS_CACHE"] = True
        db.session.remove()
    assert cached.keys() == fresh.keys()
    for key in cached:
        assert cached[key] == fresh[key], key
