"""Every change of texting consent is kept: who, when, how (page, sign-up, STOP/START text,
import), from what to what; staff read it on the person's page, leaders do not."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

from sqlalchemy import select

from organizer.extensions import db
from organizer.people.models import ConsentChange, ConsentMethod, Person, SmsConsent
from tests.sms.conftest import signed_post


def _history(app, person_id):
    with app.app_context():
        return [(c.method, c.from_consent, c.to_consent, c.changed_by_id) for c in db.session.scalars(
            select(ConsentChange).where(ConsentChange.person_id == person_id).order_by(ConsentChange.id))]


def test_an_edit_on_the_persons_page_is_kept_with_who_made_it(app, login_as, make_user, make_person):
    organizer = make_user("organizer", name="Olga Organizer")
    person = make_person(phone="+13125550142")
    client = login_as(organizer)
    client.post(f"/people/{person.id}/edit", {"first_name": person.first_name, "phone": "3125550142",
                                              "sms_consent": "opted_in"})
    client.post(f"/people/{person.id}/edit", {"first_name": person.first_name, "phone": "3125550142",
                                              "sms_consent": "opted_in"})  # saved unchanged: nothing new
    assert _history(app, person.id) == [
        (ConsentMethod.WEB_FORM, SmsConsent.UNKNOWN, SmsConsent.OPTED_IN, organizer.id)]

    page = client.client.get(f"/people/{person.id}").get_data(as_text=True)
    history = page[page.index('data-testid="consent-history"'):]
    assert "Not asked yet → <strong>Agreed to texts</strong>" in history and "Olga Organizer" in history


def test_stop_and_start_texts_are_kept_as_the_persons_own(app, client, twilio_app, org, make_person):
    person = make_person(phone="+13125550142", sms_consent=SmsConsent.OPTED_IN)
    for sid, body in (("SM1", "STOP"), ("SM2", "START")):
        assert signed_post(client, "/sms/inbound", {"MessageSid": sid, "From": "+13125550142",
                                                     "To": "+13125550199", "Body": body}).status_code == 200
    assert _history(app, person.id) == [
        (ConsentMethod.SMS_STOP, SmsConsent.OPTED_IN, SmsConsent.OPTED_OUT, None),
        (ConsentMethod.SMS_START, SmsConsent.OPTED_OUT, SmsConsent.OPTED_IN, None),
    ]


def test_an_import_keeps_each_persons_consent_as_imported(app, login_as, make_user, tmp_path):
    app.config["PEOPLE_IMPORT_DIR"] = str(tmp_path)
    organizer = make_user("organizer")
    client = login_as(organizer)
    body = "First name,Phone,SMS consent\nMaría,(312) 555-0101,yes\nJohn,312-555-0102,no\nAna,312-555-0103,\n"
    preview = client.post("/people/import", {"file": (io.BytesIO(body.encode()), "people.csv")},
                          content_type="multipart/form-data").get_data(as_text=True)
    token = re.search(r'name="token"[^>]*value="([^"]+)"', preview).group(1)
    assert client.post("/people/import/confirm", {"token": token}).status_code == 302
    with app.app_context():
        ids = {p.first_name: p.id for p in db.session.scalars(select(Person))}
    assert _history(app, ids["María"]) == [(ConsentMethod.IMPORT, None, SmsConsent.OPTED_IN, organizer.id)]
    assert _history(app, ids["John"]) == [(ConsentMethod.IMPORT, None, SmsConsent.OPTED_OUT, organizer.id)]
    assert _history(app, ids["Ana"]) == []  # nothing was said about texts


def test_leaders_do_not_see_the_history_of_their_own_person(app, login_as, make_user, make_person):
    leader = make_user("leader")
    organizer = make_user("organizer")
    person = make_person(owner=leader, phone="+13125550142")
    login_as(organizer).post(f"/people/{person.id}/edit", {
        "first_name": person.first_name, "phone": "3125550142", "sms_consent": "opted_out", "owner_id": leader.id})
    page = login_as(leader).client.get(f"/people/{person.id}").get_data(as_text=True)
    assert "Opted out of texts" in page  # the current state, as before
    assert 'data-testid="consent-history"' not in page


def test_no_code_sets_consent_except_the_one_service():
    """``Person.sms_consent`` is assigned only in ``set_sms_consent`` (bulk inserts of new
    people aside, which write their history with ``record_imported_consents``)."""
    offenders = []
    for path in (Path(__file__).parents[2] / "organizer").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for inner in ast.walk(node):
                    targets = inner.targets if isinstance(inner, ast.Assign) else []
                    for target in targets:
                        if isinstance(target, ast.Attribute) and target.attr == "sms_consent" \
                                and node.name != "set_sms_consent":
                            offenders.append(f"{path}:{inner.lineno} in {node.name}")
    assert offenders == []
