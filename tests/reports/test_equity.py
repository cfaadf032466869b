"""The equity dashboard: counts by group equal the database's, small cells never show, a hidden
cell cannot be worked out from totals, leaders never see it, exports are audited."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from organizer.extensions import db


@pytest.fixture
def federation(app, make_user):
    """Three neighborhoods: Alta (12 Hispanic people, all met), Baja (6 Black people, 2 met),
    Centro (3 White people, none met), plus one archived person who never counts."""
    from organizer.people.models import Person, PersonRaceEthnicity, RaceEthnicity
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today
    from organizer.settings.models import Neighborhood

    organizer = make_user("organizer")
    with app.app_context():
        today = local_today()
        hoods = {name: Neighborhood(name=name) for name in ("Alta", "Baja", "Centro")}
        db.session.add_all(hoods.values())
        people = []
        for hood, race, n, met in (("Alta", RaceEthnicity.HISPANIC, 12, 12), ("Baja", RaceEthnicity.BLACK, 6, 2),
                                   ("Centro", RaceEthnicity.WHITE, 3, 0)):
            for i in range(n):
                person = Person(first_name=f"{hood}{i}", last_name="Vecino", neighborhood=hoods[hood],
                                preferred_language="es" if hood == "Alta" else "en",
                                race_ethnicities=[PersonRaceEthnicity(value=race)])
                db.session.add(person)
                db.session.flush()
                people.append(person)
                if i < met:
                    db.session.add(OneToOne(person_id=person.id, held_by_id=organizer.id,
                                            held_on=today - timedelta(days=10)))
        gone = Person(first_name="Archived", last_name="Vecino", neighborhood=hoods["Centro"],
                      archived_at=func.now())
        db.session.add(gone)
        db.session.commit()
    return organizer


def _csv(client, query: str = "") -> list[list[str]]:
    response = client.get(f"/reports/equity.csv{query}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _table(rows: list[list[str]]) -> tuple[list[str], dict[str, list[str]]]:
    header = rows[1]
    body = {}
    for row in rows[2:]:
        if not row:
            break
        body[row[0]] = row
    return header, body


HIDDEN = ("<5", "hidden")  # a small count (or a zero beside one); a larger one hidden to protect it


def test_counts_by_neighborhood_match_the_database_where_they_are_shown(app, federation, login_as):
    from organizer.people.models import Person

    client = login_as(federation).client
    header, body = _table(_csv(client, "?split=neighborhood"))
    base = header.index("People in the base")
    with app.app_context():
        in_base = dict(db.session.execute(
            select(func.coalesce(Person.neighborhood_id, 0), func.count()).where(Person.archived_at.is_(None))
            .group_by(Person.neighborhood_id)).all())
        total = db.session.scalar(select(func.count()).select_from(Person).where(Person.archived_at.is_(None)))
    assert body["Total (each person once)"][base] == str(total) == "21"
    assert sorted(in_base.values()) == [3, 6, 12]
    assert body["Alta"][base] == "12"
    assert body["Centro"][base] == "<5"  # 3 people: too few to show
    # 6, hidden too (else 21 - 12 - 6 would give Centro's 3 away), and not called "<5": it is not
    assert body["Baja"][base] == "hidden"


def test_no_count_from_one_to_four_appears_on_the_page_or_in_the_csv(federation, login_as):
    client = login_as(federation).client
    for split in ("race", "neighborhood", "institution", "language", "race_neighborhood"):
        for mode in ("combination", "multiracial"):
            rows = _csv(client, f"?split={split}&race_mode={mode}")
            for row in rows[1:]:
                for value in row[1:]:
                    assert not re.fullmatch(r"[1-4]", value), (split, row)
            html = client.get(f"/reports/equity?split={split}&race_mode={mode}").get_data(as_text=True)
            cells = re.findall(r'<td class="text-end[^"]*" data-measure="[^"]+">([^<]*)</td>', html)
            assert cells and not [c for c in cells if re.fullmatch(r"[1-4]", c.strip())], split


def test_a_hidden_count_cannot_be_worked_out_from_its_column_total(federation, login_as):
    client = login_as(federation).client
    header, body = _table(_csv(client, "?split=neighborhood"))
    reached = header.index("People reached (had a one-to-one)")
    # Baja's 2 people reached are hidden; with Centro and "no neighborhood" at 0 and the total
    # shown (14), Alta's 12 would give Baja away: so Alta is hidden too (its 12 not called "<5").
    assert body["Baja"][reached] == "<5"
    assert body["Alta"][reached] == "hidden"
    assert body["Total (each person once)"][reached] == "14"
    for column in range(1, len(header)):
        values = [row[column] for name, row in body.items() if name != "Total (each person once)"]
        total = body["Total (each person once)"][column]
        if total.isdigit() and not header[column].startswith(("Now at stage", "Reached", "Leaders ÷",
                                                              "Show-up", "Delivered", "Replied ÷")):
            assert sum(v in HIDDEN for v in values) != 1, f"{header[column]}: one hidden cell and a shown total"
    # Each group's stages add up to its base: no lone hidden stage beside a shown base either.
    stage_columns = [i for i, h in enumerate(header) if h.startswith("Now at stage")]
    base = header.index("People in the base")
    for name, row in body.items():
        if row[base].isdigit():
            assert sum(row[i] in HIDDEN for i in stage_columns) != 1, name


def test_rates_show_their_numerator_and_denominator(federation, login_as):
    html = login_as(federation).client.get("/reports/equity?split=language").get_data(as_text=True)
    assert "Reached ÷ base" in html
    assert "67% <span class=\"small text-muted\">(14/21)</span>" in html  # everyone: 14 met of 21


def test_prefer_not_to_say_and_not_recorded_are_rows_of_their_own(federation, login_as):
    html = login_as(federation).client.get("/reports/equity?split=race").get_data(as_text=True)
    assert 'data-group="Prefer not to say"' in html and 'data-group="Not recorded"' in html
    assert "alone or in combination" in html


def test_several_races_count_in_each_or_once_as_multiracial(app, federation, login_as):
    from organizer.people.models import Person, PersonRaceEthnicity, RaceEthnicity

    with app.app_context():
        for i in range(5):
            db.session.add(Person(first_name=f"Mixed{i}", last_name="Vecino", race_ethnicities=[
                PersonRaceEthnicity(value=RaceEthnicity.BLACK), PersonRaceEthnicity(value=RaceEthnicity.WHITE)]))
        db.session.commit()
    from organizer.relational.services import local_today
    from organizer.reports.services import EquityQuery, default_period, equity_report

    with app.test_request_context():  # threshold 1: the raw counts, nothing hidden
        period = default_period(local_today())
        combination = equity_report(EquityQuery(period, split="race", threshold=1))
        multiracial = equity_report(EquityQuery(period, split="race", race_mode="multiracial", threshold=1))
        base = lambda report, key: report.cell("base", ("split", key, None)).value  # noqa: E731
        assert base(combination, "black_african_american") == 11  # 6 + 5 in combination
        assert base(combination, "white") == 8  # 3 + 5
        assert base(multiracial, "black_african_american") == 6
        assert base(multiracial, "multiracial") == 5
        assert combination.cell("base", ("total", None, None)).value == 26
        assert multiracial.cell("base", ("total", None, None)).value == 26


def test_the_csv_export_is_audited(app, federation, login_as):
    from organizer.audit.models import AuditEvent

    _csv(login_as(federation).client, "?split=neighborhood")
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
        assert event.object_type == "report" and event.details["split"] == "neighborhood"


def test_every_report_is_404_for_leaders(federation, make_user, login_as):
    leader = login_as(make_user("leader")).client
    for url in ("/reports/", "/reports/equity", "/reports/equity.csv?split=race", "/reports/populations",
                "/reports/equity?split=race_neighborhood"):
        assert leader.get(url).status_code == 404, url


def test_only_admins_enter_populations_organizers_are_refused_and_leaders_find_nothing(make_user, login_as):
    organizer, leader, admin = (login_as(make_user(role)) for role in ("organizer", "leader", "admin"))
    for url in ("/reports/populations", "/reports/populations/import"):
        assert organizer.post(url, data={}).status_code == 403, url
        assert leader.post(url, data={}).status_code == 404, url
        assert admin.post(url, data={}).status_code not in (403, 404), url


def test_a_leader_finds_no_report_whatever_the_method(app, federation, make_user, login_as):
    """GET or POST, every report URL (scorecards and their forms too) is 404 to a leader: a 405
    for the method a route does not take would tell them the page exists. Staff still get 405."""
    leader, organizer = login_as(make_user("leader")).client, login_as(federation).client
    hidden = [rule for rule in app.url_map.iter_rules()
              if getattr(app.view_functions[rule.endpoint], "hidden_from_non_staff", False)]
    assert {rule.endpoint for rule in hidden} >= {"reports.equity", "reports.equity_export", "reports.scorecard"}
    for rule in hidden:
        url = rule.build({arg: 1 for arg in rule.arguments}, append_unknown=False)[1]
        taken = {m for other in app.url_map.iter_rules() if other.rule == rule.rule for m in other.methods}
        for method in ("GET", "POST"):
            assert leader.open(url, method=method).status_code == 404, (method, url)
            if method not in taken:
                assert organizer.open(url, method=method).status_code == 405, (method, url)


def test_the_rule_is_on_the_page_and_the_page_is_in_spanish(federation, login_as):
    client = login_as(federation).client
    html = client.get("/reports/equity").get_data(as_text=True)
    assert "Small numbers are hidden." in html and "&lt;5" in html
    spanish = client.get("/reports/equity", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Los números pequeños se ocultan." in spanish


def test_the_dashboard_runs_the_same_number_of_queries_whatever_the_data(app, federation, login_as, count_queries,
                                                                          make_user):
    from organizer.people.models import Person, PersonRaceEthnicity, RaceEthnicity
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today

    client = login_as(federation).client
    client.get("/reports/equity?split=race_neighborhood")
    counts = []
    for _size in range(2):
        with count_queries() as q:
            for split in ("race", "race_neighborhood", "institution"):
                assert client.get(f"/reports/equity?split={split}").status_code == 200
        counts.append(q.count)
        with app.app_context():  # ten times more people, meetings and groups
            for i in range(200):
                person = Person(first_name=f"More{i}", last_name="Vecino", preferred_language="vi",
                                race_ethnicities=[PersonRaceEthnicity(value=list(RaceEthnicity)[i % 9])])
                db.session.add(person)
                db.session.flush()
                db.session.add(OneToOne(person_id=person.id, held_by_id=federation.id, held_on=local_today()))
            db.session.commit()
    assert counts[0] == counts[1]


def test_the_trend_counts_each_month_of_the_period(app, federation, make_action):
    """One-to-ones held, people reached and people who attended, month by month: a month's
    activity lands in that month only, and activity outside the period in none."""
    from datetime import UTC, datetime

    from organizer.actions.models import Attendance
    from organizer.people.models import Person, PersonRaceEthnicity, RaceEthnicity
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today
    from organizer.reports.services import EquityQuery, Period, equity_report

    with app.app_context():
        this_month = local_today().replace(day=1)
        second = (this_month - timedelta(days=1)).replace(day=1)
        first = (second - timedelta(days=1)).replace(day=1)
        ana, beto, cruz = (Person(first_name=name, last_name="Trend", race_ethnicities=[
            PersonRaceEthnicity(value=RaceEthnicity.ASIAN)]) for name in ("Ana", "Beto", "Cruz"))
        db.session.add_all([ana, beto, cruz])
        db.session.flush()
        for person, day in ((ana, first + timedelta(days=4)), (ana, first + timedelta(days=4)),
                            (ana, second + timedelta(days=1)), (beto, second - timedelta(days=1)),
                            (cruz, first - timedelta(days=1))):  # Cruz's is before the period
            db.session.add(OneToOne(person_id=person.id, held_by_id=federation.id, held_on=day))
        db.session.commit()
        ids = ana.id, beto.id
    early = make_action(starts_at=datetime.combine(first + timedelta(days=9), datetime.min.time(), UTC)
                        + timedelta(hours=15))
    late = make_action(starts_at=datetime.combine(second + timedelta(days=9), datetime.min.time(), UTC)
                       + timedelta(hours=15))
    with app.app_context():
        db.session.add_all([Attendance(action_id=early.id, person_id=ids[0]),
                            Attendance(action_id=early.id, person_id=ids[1]),
                            Attendance(action_id=late.id, person_id=ids[0])])
        db.session.commit()

    months = (first.strftime("%Y-%m"), second.strftime("%Y-%m"))
    asian = ("split", RaceEthnicity.ASIAN.value, None)
    with app.test_request_context():  # threshold 1: the raw counts, nothing hidden
        period = Period(first, this_month - timedelta(days=1))

        def trend(name: str) -> list[int | None]:
            report = equity_report(EquityQuery(period, split="race", trend=name, threshold=1))
            assert report.months == list(months)
            return [report.trend_cell(asian, month).value for month in months]

        assert trend("one_to_ones") == [3, 1]  # Ana twice and Beto, then Ana
        assert trend("reached") == [2, 1]  # each person once a month
        assert trend("attended") == [2, 1]
