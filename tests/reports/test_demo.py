"""The demo federation gives the dashboard and the scorecard something to say on first run."""

from __future__ import annotations

from sqlalchemy import select

from organizer.extensions import db


def test_the_demo_shows_a_neighborhood_over_represented_in_the_base_and_under_represented_among_leaders(
        app, runner, login_as):
    from organizer.auth.models import User
    from organizer.campaigns.models import Campaign

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        organizer = db.session.scalar(select(User).where(User.email == "organizer1@demo.local"))
        campaign_id = db.session.scalar(select(Campaign.id).where(Campaign.name == "Fix the Route 9 bus"))
        organizer.set_password("correct horse battery")
        db.session.commit()
        db.session.refresh(organizer)
        db.session.expunge(organizer)
    client = login_as(organizer).client
    html = client.get("/reports/equity?split=neighborhood").get_data(as_text=True)
    row = html.split('data-testid="table-representation"')[1].split('<tr data-group="Albany Park"')[1].split("</tr>")[0]
    assert "under-represented" in row
    cells = [c.split("<")[0] for c in row.split('<td class="text-end"')[1:]]
    base_share, population_share = float(cells[0].strip(">%")), float(cells[-1].strip(">%"))
    assert base_share > population_share  # more of the base than of the neighborhoods' people

    card = client.get(f"/campaigns/{campaign_id}/scorecard").get_data(as_text=True)
    assert card.count("data-indicator=") == 2
    assert card.count("Yes: better than the forecast") == 2  # both curves turned since the campaign began
    assert "The Transit Authority added two evening runs on Route 9." in card


def test_on_the_demo_no_count_is_hidden_in_one_view_and_shown_in_another(app, runner):
    """Every split, race view and trend of the demo's default period: a count that two views both
    show (a race's row, a neighborhood's, the people whose race is not recorded, the Total) is
    hidden in both or in neither, so that no view gives away what another hides."""
    from organizer.relational.services import local_today
    from organizer.reports.services import SPLITS, EquityQuery, default_period, equity_report

    def same_count(split, mode, group):  # the group as every view showing it would name it
        kind, first, second = group
        race_view = mode if first is not None else "either"  # nobody's race recorded: the same people
        if kind == "total":
            return ("total",)
        if split == "race_neighborhood":
            return {"split": ("race × place", race_view, first, second), "race": ("race", race_view, first),
                    "nb": ("place", second)}[kind]
        return {"race": ("race", race_view, first), "neighborhood": ("place", first)}.get(split, (split, first))

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    shown, hidden = {}, {}
    with app.test_request_context():
        period = default_period(local_today())
        for split in SPLITS:
            for mode in ("combination", "multiracial"):
                for trend in ("one_to_ones", "reached", "attended"):
                    report = equity_report(EquityQuery(period, split=split, race_mode=mode, trend=trend))
                    view = (split, mode, trend)
                    for key in report.cells:
                        group = key[2] if key[0] == "m" else key[1]
                        what = (key[1],) if key[0] == "m" else (trend, key[2])  # a month of the trend drawn
                        count = (key[0], *what, same_count(split, mode, group))
                        (hidden if key in report.hidden else shown).setdefault(count, view)
    both = {count: (hidden[count], shown[count]) for count in hidden.keys() & shown.keys()}
    assert both == {}
