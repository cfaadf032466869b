"""Spanish pages write dates in Spanish: no English day or month name on the texting and action pages."""

from __future__ import annotations

import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import select

from organizer.extensions import db
from organizer.sms.models import Mobilization

pytestmark = pytest.mark.usefixtures("twilio_app", "org")

ENGLISH = re.compile(
    r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|April|June|July|August|"
    r"September|October|November|December|AM|PM)\b"
)


def _text(html: str) -> str:
    """What a reader sees: tags, scripts and attribute values dropped."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_texting_and_action_pages_in_spanish_have_no_english_dates(
        app, make_user, login_as, make_action, make_person, add_rsvp, phone_for):
    action = make_action(days=10, title="Audiencia sobre la ruta 9", location="Salón San Marcos")
    past = make_action(days=-3, title="Asamblea pasada")
    organizer = login_as(make_user("organizer", locale="es"))
    add_rsvp(action, make_person(phone=phone_for(1)))
    organizer.post("/sms/new", {"title": "Convocatoria", "body": "Hola {first_name}", "action_id": str(action.id),
                                "rsvp_prompt": "y", "text_language": "es"})
    with app.app_context():
        m_id = db.session.scalars(select(Mobilization.id)).one()

    weekday = format_date(action.starts_at.astimezone(ZoneInfo(action.timezone)), "EEEE", locale="es")
    pages = {
        "/sms/new": True, f"/sms/{m_id}": True, "/sms/": False, "/actions/": False,
        f"/actions/{action.id}": True, f"/actions/{action.id}/turnout": True,
        f"/actions/{past.id}/turnout": False, f"/signup/{action.signup_token}": True,
        f"/signup/{past.signup_token}": False,
    }
    for url, shows_the_action in pages.items():
        response = organizer.client.get(url, headers={"Accept-Language": "es"})
        assert response.status_code == 200, url
        text = _text(response.get_data(as_text=True))
        assert ENGLISH.findall(text) == [], url
        if shows_the_action:
            assert weekday in text.lower(), url
