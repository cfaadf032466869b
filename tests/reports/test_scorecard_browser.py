"""In real Chromium, on a phone and a laptop: a campaign's scorecard draws each community
indicator's curve beside its table of data points, shows the three quadrants and the split by
group, takes a new data point from its form, and nothing makes the page scroll sideways."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from organizer.extensions import db
from tests.support.browser import assert_no_sideways_scroll, log_in, wait_for_chart

pytestmark = pytest.mark.browser

INDICATOR = "Evictions filed per 1,000 renters, Southside"


@pytest.fixture
def campaign_id(app, make_institution, make_person, make_user):
    """A campaign started 90 days ago, with one member institution whose eight members each had
    a one-to-one, and an indicator with four yearly data points (baseline up to 2024)."""
    from organizer.campaigns.models import Campaign, CampaignStatus
    from organizer.institutions.models import Membership
    from organizer.relational.models import OneToOne
    from organizer.relational.services import local_today
    from organizer.reports.models import CommunityIndicator, IndicatorPoint

    organizer = make_user("organizer")
    church = make_institution(name="St. Anne")
    members = [make_person(first_name=f"Vecina{i}") for i in range(8)]
    with app.app_context():
        today = local_today()
        campaign = Campaign(name="Right to counsel", status=CampaignStatus.ACTIVE,
                            starts_on=today - timedelta(days=90))
        campaign.institutions = [db.session.get(type(church), church.id)]
        db.session.add(campaign)
        db.session.flush()
        for person in members:
            db.session.add(Membership(person_id=person.id, institution_id=church.id))
            db.session.add(OneToOne(person_id=person.id, held_by_id=organizer.id, held_on=today - timedelta(days=10)))
        indicator = CommunityIndicator(campaign_id=campaign.id, name=INDICATOR, baseline_on=date(2024, 12, 31))
        db.session.add(indicator)
        db.session.flush()
        for year, value in ((2022, 30), (2023, 32), (2024, 34), (2025, 31)):
            db.session.add(IndicatorPoint(indicator_id=indicator.id, observed_on=date(year, 12, 31), value=value,
                                          source="County court records"))
        db.session.commit()
        return campaign.id


@pytest.mark.parametrize("size", [(390, 844), (1280, 800)], ids=["phone", "laptop"])
def test_the_scorecard_draws_each_indicator_beside_its_points_and_takes_a_new_one(
        page: Page, live_server, make_user, campaign_id, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    log_in(page, live_server, make_user("organizer"))
    page.goto(f"{live_server}/campaigns/{campaign_id}/scorecard")
    expect(page.get_by_role("heading", name="Scorecard: Right to counsel")).to_be_visible()

    indicator = page.locator(f'[data-indicator="{INDICATOR}"]')
    canvas = indicator.locator("canvas[data-chart]")
    expect(canvas).to_be_visible()
    wait_for_chart(page, canvas)
    box = canvas.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    points = indicator.get_by_test_id("indicator-points")
    expect(points.locator("tbody tr")).to_have_count(4)
    expect(indicator.locator("[data-turning]")).to_contain_text("better than the forecast")

    for quadrant in ("how_much", "how_well", "better_off"):
        expect(page.locator(f'[data-quadrant="{quadrant}"] table')).to_be_visible()
        # Every column of a quadrant is on the screen, the trend arrow included, not out of
        # sight behind the table's own sideways scroll.
        for cell in page.locator(f'[data-quadrant="{quadrant}"] tr[data-measure] td').all():
            box = cell.bounding_box()
            assert box and box["x"] + box["width"] <= size[0], (quadrant, box)
    reached = page.locator('[data-quadrant] tr[data-measure="reached"] [data-current]')
    expect(reached).to_have_text("8")
    expect(page.get_by_test_id("breakdown-1")).to_be_visible()
    expect(page.get_by_test_id("breakdown-2").locator('tr[data-group="Total (each person once)"] '
                                                     'td[data-measure="reached"]')).to_have_text("8")
    # Nothing wider than the screen but the tables that scroll within themselves (a badge that
    # would not wrap once pushed the phone's page 2 px sideways).
    assert_no_sideways_scroll(page)

    # A new data point, typed as a person would, lands in the table and on the curve.
    indicator.get_by_label("Date").fill("2026-06-30")
    indicator.get_by_label("Value").fill("27")
    indicator.get_by_label("Source").fill("County court records")
    indicator.get_by_role("button", name="Add data point").click()
    indicator = page.locator(f'[data-indicator="{INDICATOR}"]')
    expect(indicator.get_by_test_id("indicator-points").locator("tbody tr")).to_have_count(5)
    expect(indicator.get_by_test_id("indicator-points")).to_contain_text("27")
    wait_for_chart(page, indicator.locator("canvas[data-chart]"))
