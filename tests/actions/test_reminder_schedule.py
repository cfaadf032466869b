"""The turnout page of a future action shows its reminder texts: when each goes out and to how many."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from organizer.extensions import db
from organizer.people.models import SmsConsent
from organizer.sms.models import PhoneOptOut


def _rows(html: str) -> dict[str, tuple[str, int]]:
    section = re.search(r'data-testid="reminder-schedule">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<tr data-offset="(\d+)">\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td class="text-end recipients">(\d+)',
                      section, re.S)
    return {offset: (unescape(re.sub(r"<[^>]+>", "", when)).strip(), int(n)) for offset, _label, when, n in rows}


def test_a_future_actions_turnout_page_shows_who_gets_which_reminder(
        app, make_user, login_as, make_action, make_person, add_rsvp):
    app.config["SMS_REMINDER_OFFSETS"] = "24h,2h"
    action = make_action(days=3)
    for n in range(3):
        add_rsvp(action, make_person(phone=f"+1312555010{n}"))
    add_rsvp(action, make_person(phone=None))  # no phone
    add_rsvp(action, make_person(phone="+13125550199", sms_consent=SmsConsent.OPTED_OUT))
    add_rsvp(action, make_person(phone="+13125550198"))  # its number texted STOP
    add_rsvp(action, make_person(phone="+13125550197"), "maybe")
    with app.app_context():
        db.session.add(PhoneOptOut(phone="+13125550198", source="STOP"))
        db.session.commit()

    html = login_as(make_user("leader")).client.get(f"/actions/{action.id}/turnout").get_data(as_text=True)
    chicago = ZoneInfo("America/Chicago")
    expected = {
        str(minutes): (format_datetime(action.starts_at - timedelta(minutes=minutes), "full", tzinfo=chicago,
                                       locale="en"), 3)
        for minutes in (1440, 120)
    }
    assert _rows(html) == expected
    assert "1 day before" in html and "2 hours before" in html


def test_the_schedule_is_in_spanish_and_past_actions_have_none(app, make_user, login_as, make_action):
    app.config["SMS_REMINDER_OFFSETS"] = "90m"
    action, past = make_action(days=2), make_action(days=-2)
    spanish = login_as(make_user("organizer", locale="es"))
    html = unescape(spanish.client.get(f"/actions/{action.id}/turnout").get_data(as_text=True))
    assert "Textos de recordatorio" in html and "90 minutos antes" in html
    assert "reminder-schedule" not in spanish.client.get(f"/actions/{past.id}/turnout").get_data(as_text=True)
