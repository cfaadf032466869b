"""The sign-up link of an action that has happened: a clear page pointing to what's next, not a 404."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from organizer.actions.models import Rsvp
from organizer.campaigns.models import Campaign
from organizer.extensions import db


def _campaign(app) -> int:
    with app.app_context():
        campaign = Campaign(name="Route 9 buses")
        db.session.add(campaign)
        db.session.commit()
        return campaign.id


def test_a_past_actions_link_says_it_happened_and_offers_the_campaigns_next_action(app, client, make_action):
    campaign_id = _campaign(app)
    past = make_action(days=-2, title="First hearing", campaign_id=campaign_id)
    make_action(days=30, title="Much later march", campaign_id=campaign_id)
    upcoming = make_action(days=5, title="Second hearing", campaign_id=campaign_id)
    make_action(days=1, title="Another campaign's rally")  # no campaign: never offered
    response = client.get(f"/signup/{past.signup_token}")
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "This action has happened; see what's next." in html
    next_card = re.search(r'data-testid="next-action">(.*?)</div>\s*</div>', html, re.S).group(1)
    assert "Second hearing" in next_card and f'href="/signup/{upcoming.signup_token}"' in next_card
    assert "Much later march" not in html and "Another campaign" not in html
    assert 'name="first_name"' not in html  # no sign-up form for what is over


def test_posting_to_a_past_actions_link_records_nothing(app, auth, make_action):
    past = make_action(days=-2)
    response = auth.post(f"/signup/{past.signup_token}", data={"first_name": "Dolores", "email": "d@example.org"})
    assert response.status_code == 200 and 'data-testid="signup-over"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 0


def test_without_a_next_action_the_page_says_so_in_spanish(client, make_action):
    past = make_action(days=-2, title="Audiencia")
    html = client.get(f"/signup/{past.signup_token}", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Esta acción ya ocurrió; vea lo que sigue." in html
    assert "Todavía no hay otra acción abierta para inscribirse." in html
    assert 'data-testid="next-action"' not in html
