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
