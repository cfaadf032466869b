"""A leader's one-at-a-time texts go out in the leader's own voice: only that leader sends them."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.sms.models import Mobilization, OutboxMessage

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


def test_staff_see_a_leaders_p2p_text_but_cannot_send_it(app, fake, make_user, login_as, make_person, phone_for):
    fatima = make_user("leader", name="Fatima Ali")
    person = make_person(owner=fatima, phone=phone_for(1), first_name="Rosa")
    leader = login_as(fatima)
    leader.post("/sms/new", {"title": "Hearing", "body": "Hi {first_name}, it's Fatima. Coming Tuesday?"})
    with app.app_context():
        m_id = db.session.scalars(select(Mobilization.id)).one()
    leader.post(f"/sms/{m_id}/launch", {})

    staff = login_as(make_user("organizer"))
    page = unescape(staff.client.get(f"/sms/{m_id}/p2p").get_data(as_text=True))
    assert "Hi Rosa, it's Fatima." in page  # staff can read it
    assert ">Send<" not in page and 'name="skip"' not in page
    assert "Only Fatima Ali can send these texts: they go out in their name." in page

    refused = staff.post(f"/sms/{m_id}/p2p", {"person_id": str(person.id)}, follow_redirects=True)
    assert "Only Fatima Ali can send these texts" in unescape(refused.get_data(as_text=True))
    assert fake.messages == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

    own = unescape(leader.client.get(f"/sms/{m_id}/p2p").get_data(as_text=True))
    assert ">Send<" in own and "Only Fatima Ali" not in own
    leader.post(f"/sms/{m_id}/p2p", {"person_id": str(person.id)})
    assert [msg.to for msg in fake.messages] == [phone_for(1)]
