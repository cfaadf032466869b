"""Importing other tools' exports as an organizer would: upload, check the mapping page (the
tool recognized, each column's field), import; phones, ZIPs, tags and declined texts arrive."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from organizer.extensions import db
from organizer.people.models import (
    ConsentChange,
    ConsentMethod,
    ImportMapping,
    Person,
    PersonExternalId,
    PersonRaceEthnicity,
    RaceEthnicity,
    SmsConsent,
)
from tests.people.test_import import confirm, people_count, stored, upload

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path):
    app.config["PEOPLE_IMPORT_DIR"] = str(tmp_path / "imports")


@pytest.fixture
def housing(make_tag):
    return make_tag("Housing")


def import_fixture(actions, name: str) -> str:
    """Upload a fixture, check the page recognized it, and press Import: all a user does."""
    preview = upload(actions, (FIXTURES / name).read_bytes(), name=name).get_data(as_text=True)
    assert 'data-testid="import-columns"' in preview and 'data-testid="errors">0<' in preview
    response = confirm(actions, preview)
    assert response.status_code == 302, response.get_data(as_text=True)
    return preview


def by_name(app, first_name: str) -> Person:
    [person] = stored(app, first_name=first_name)
    return person


def consent_changes(app, person_id: int) -> list[ConsentChange]:
    with app.app_context():
        return list(db.session.scalars(select(ConsentChange).where(ConsentChange.person_id == person_id)))


def selected_preset(html: str) -> str | None:
    match = re.search(r'<option selected value="([^"]*)">', html)
    return match.group(1) if match else None


def test_action_network_export_brings_mobile_address_zip_tags_and_declined_texts(app, login_as, make_user, housing):
    actions = login_as(make_user("organizer"))
    preview = import_fixture(actions, "action_network_activists.csv")
    assert "Recognized as an export of Action Network" in preview and selected_preset(preview) == "action_network"
    assert "1 person will have no phone and cannot be texted." in preview
    assert "1 person declined texts in the file: they will be opted out." in preview
    assert "New tags will be added to the list: Youth team." in preview

    maria = by_name(app, "María")
    assert (maria.phone, maria.postal_code, maria.city, maria.address) == (
        "+13125550101", "60608", "Chicago", "1850 W 18th St")
    assert sorted(t.name for t in maria.tags) == ["Housing", "Youth team"]
    assert maria.sms_consent is SmsConsent.OPTED_IN
    john = by_name(app, "John")
    assert john.sms_consent is SmsConsent.OPTED_OUT
    [change] = consent_changes(app, john.id)
    assert change.method is ConsentMethod.IMPORT and change.to_consent is SmsConsent.OPTED_OUT
    assert "action_network_activists.csv" in change.detail
    ana = by_name(app, "Ana")
    assert ana.phone is None and ana.sms_consent is SmsConsent.UNKNOWN and ana.postal_code == "60632"


def test_nationbuilder_texts_the_mobile_keeps_the_landline_and_honours_opt_in_and_do_not_contact(
        app, login_as, make_user, housing):
    actions = login_as(make_user("organizer"))
    preview = import_fixture(actions, "nationbuilder_people.csv")
    assert selected_preset(preview) == "nationbuilder"
    rosa = by_name(app, "Rosa")
    assert rosa.phone == "+13125550111" and rosa.other_phones == "+17735550110"
    assert rosa.address == "2400 S Kedzie Ave, Apt 2" and rosa.postal_code == "60623"
    assert sorted(t.name for t in rosa.tags) == ["Housing", "volunteer"]
    assert rosa.sms_consent is SmsConsent.OPTED_IN
    luis = by_name(app, "Luis")
    assert luis.other_phones == "+17735550120;+13125550125"
    assert luis.sms_consent is SmsConsent.OPTED_OUT  # mobile_opt_in = false
    assert by_name(app, "Grace").sms_consent is SmsConsent.OPTED_OUT  # do_not_contact = true


def test_van_export_takes_the_cell_phone_preferred_email_and_zip5(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    preview = import_fixture(actions, "van_export.csv")
    assert selected_preset(preview) == "van"
    assert "1 person will have no phone and cannot be texted." in preview
    thanh = by_name(app, "Thanh")
    assert (thanh.phone, thanh.other_phones, thanh.email, thanh.postal_code) == (
        "+13125550141", "+17735550140", "thanh.nguyen@example.org", "60640")
    denise = by_name(app, "Denise")
    assert denise.phone is None and denise.other_phones == "+17735550150"
    assert denise.email == "denise.johnson@example.org"


def test_mobilize_attendees_once_each_with_not_opted_in_as_opted_out(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    preview = import_fixture(actions, "mobilize_attendees.csv")
    assert selected_preset(preview) == "mobilize"
    assert people_count(app) == 2  # Sofía signed up for two shifts: one person
    sofia = by_name(app, "Sofía")
    assert sofia.phone == "+13125550160" and sofia.postal_code == "60608" and sofia.sms_consent is SmsConsent.OPTED_IN
    assert by_name(app, "Peter").sms_consent is SmsConsent.OPTED_OUT


def test_action_builder_export_texts_the_mobile_and_honours_sms_opt_out(app, login_as, make_user, housing):
    actions = login_as(make_user("organizer"))
    preview = import_fixture(actions, "action_builder_export.csv")
    assert selected_preset(preview) == "action_builder"
    fatima = by_name(app, "Fatima")
    assert fatima.phone == "+13125550181" and fatima.other_phones == "+17735550180" and fatima.postal_code == "60625"
    assert [t.name for t in fatima.tags] == ["Housing"]
    assert by_name(app, "Tomás").sms_consent is SmsConsent.OPTED_OUT


def test_a_second_import_of_the_same_export_updates_instead_of_duplicating(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    import_fixture(actions, "van_export.csv")
    # The same people exported again later: Denise changed her email; her VANID finds her.
    again = (FIXTURES / "van_export.csv").read_text().replace("denise.johnson@example.org", "dj@example.org")
    preview = upload(actions, again, name="van_export.csv").get_data(as_text=True)
    assert 'data-testid="to-add">0<' in preview and 'data-testid="already">2<' in preview
    confirm(actions, preview)
    assert people_count(app) == 2
    with app.app_context():
        ids = db.session.execute(select(PersonExternalId.source, PersonExternalId.external_id)
                                 .order_by(PersonExternalId.external_id)).all()
    assert [tuple(i) for i in ids] == [("van", "100234"), ("van", "100235")]


def test_an_import_never_makes_an_opted_out_person_textable_but_applies_a_new_opt_out(
        app, login_as, make_user, make_person, housing):
    # The same people as the file's María and John: matched on phone and name (the same phone
    # with another name would be a household member, added).
    stopped = make_person(first_name="María", last_name="García", phone="+13125550101",
                          sms_consent=SmsConsent.OPTED_OUT)
    agreed = make_person(first_name="John", last_name="Lee", phone="+13125550102", sms_consent=SmsConsent.OPTED_IN)
    actions = login_as(make_user("organizer"))
    import_fixture(actions, "action_network_activists.csv")  # says María (+1 312 555 0101) subscribed
    assert by_name(app, "María").sms_consent is SmsConsent.OPTED_OUT
    assert by_name(app, "María").postal_code == "60608"  # what they lacked is filled in
    assert by_name(app, "John").sms_consent is SmsConsent.OPTED_OUT  # John unsubscribed there
    [change] = consent_changes(app, agreed.id)
    assert (change.from_consent, change.to_consent, change.method) == (
        SmsConsent.OPTED_IN, SmsConsent.OPTED_OUT, ConsentMethod.IMPORT)
    assert consent_changes(app, stopped.id) == []


def test_a_full_name_and_cell_file_is_split_and_imported(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    preview = import_fixture(actions, "full_name_cell.csv")
    assert "Full name (split into first and last)" in preview
    maria = by_name(app, "María José")
    assert maria.last_name == "Pérez" and maria.phone == "+13125550201"
    assert by_name(app, "Chidi").last_name == "Okafor"


def test_a_file_with_phone_and_mobile_texts_the_mobile_and_keeps_the_other(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    import_fixture(actions, "phone_and_mobile.csv")
    lin = by_name(app, "Lin")
    assert (lin.last_name, lin.phone, lin.other_phones) == ("Wu", "+13125550211", "+17735550210")


def test_columns_can_be_mapped_by_hand_and_the_mapping_saved_for_the_next_file(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    body = "Nombre,Celu,Código\nPaz,(312) 555-0301,60609\n"
    preview = upload(actions, body).get_data(as_text=True)
    assert "Celu" in preview and "(312) 555-0301" in preview  # the column and its sample values
    token = re.search(r'name="upload"[^>]*value="([^"]+)"', preview).group(1)
    mapped = actions.post("/people/import/mapping", {
        "upload": token, "preset": "", "columns-0": "first_name", "columns-1": "phone", "columns-2": "postal_code",
        "save_as": "Parish list"}).get_data(as_text=True)
    assert 'data-testid="errors">0<' in mapped and "Parish list" in mapped
    confirm(actions, mapped)
    paz = by_name(app, "Paz")
    assert paz.phone == "+13125550301" and paz.postal_code == "60609"
    with app.app_context():
        saved = db.session.scalar(select(ImportMapping))
        assert json.loads(saved.columns) == {"Nombre": "first_name", "Celu": "phone", "Código": "postal_code"}
        saved_id = saved.id

    preview = upload(actions, "Nombre,Celu,Código\nLuz,(312) 555-0302,60610\n").get_data(as_text=True)
    token = re.search(r'name="upload"[^>]*value="([^"]+)"', preview).group(1)
    chosen = actions.post("/people/import/mapping", {"upload": token, "preset": f"saved:{saved_id}",
                                                     "use_preset": "y"}).get_data(as_text=True)
    confirm(actions, chosen)
    assert by_name(app, "Luz").phone == "+13125550302"


def test_the_cli_imports_with_a_preset_or_a_map_file(app, runner, make_user, tmp_path):
    admin = make_user("admin")
    result = runner.invoke(args=["people", "import", str(FIXTURES / "nationbuilder_people.csv"),
                                 "--by", admin.email, "--preset", "nationbuilder"])
    assert result.exit_code == 0, result.output
    assert "mobile_number -> phone" in result.output and "added 3" in result.output
    assert by_name(app, "Luis").sms_consent is SmsConsent.OPTED_OUT
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"Nombre": "first_name", "Celu": "phone", "Código": "postal_code"}))
    people = tmp_path / "parish.csv"
    people.write_text("Nombre,Celu,Código\nPaz,(312) 555-0301,60609\n", encoding="utf-8")
    result = runner.invoke(args=["people", "import", str(people), "--by", admin.email, "--map", str(mapping)])
    assert result.exit_code == 0, result.output
    assert by_name(app, "Paz").postal_code == "60609"


def test_export_then_import_brings_everyone_back_with_accents_and_foreign_phones(
        app, login_as, make_user, make_person, make_tag, housing):
    make_tag("Youth team")
    make_person(first_name="María", last_name="Núñez", phone="+13125550142", email="maria@example.org",
                address="1850 W 18th St", city="Chicago", postal_code="60608",
                other_phones="+525512345678;+17735550143", sms_consent=SmsConsent.OPTED_OUT)
    abroad = make_person(first_name="Zoë", last_name="Kowalczyk", phone="+525598765432", sms_consent=SmsConsent.OPTED_IN)
    with app.app_context():
        db.session.add(PersonRaceEthnicity(person_id=abroad.id, value=RaceEthnicity.HISPANIC))
        db.session.add(PersonRaceEthnicity(person_id=abroad.id, value=RaceEthnicity.WHITE))
        db.session.commit()
    actions = login_as(make_user("organizer"))
    exported = actions.client.get("/people/export.csv").get_data()
    assert exported.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    # What a spreadsheet keeps as text: national form at home, a marked "+" abroad.
    assert {r["phone"] for r in rows} == {"(312) 555-0142", "'+52 55 9876 5432"}
    before = {p.first_name: p for p in stored(app)}
    with app.app_context():  # a fresh start: the file alone must bring them back
        db.session.execute(delete(Person))
        db.session.commit()

    preview = upload(actions, exported, name="people.csv").get_data(as_text=True)
    assert selected_preset(preview) == "organizer"
    confirm(actions, preview)
    after = {p.first_name: p for p in stored(app)}
    assert after.keys() == before.keys() == {"María", "Zoë"}
    fields = ("last_name", "phone", "email", "address", "city", "postal_code", "other_phones", "sms_consent")
    for name in after:
        assert [getattr(after[name], f) for f in fields] == [getattr(before[name], f) for f in fields]
    with app.app_context():
        races = db.session.scalars(select(PersonRaceEthnicity.value).join(Person).where(Person.first_name == "Zoë")
                                   .order_by(PersonRaceEthnicity.value)).all()
        assert races == [RaceEthnicity.HISPANIC, RaceEthnicity.WHITE]
        assert db.session.scalar(select(func.count(ConsentChange.id)).join(Person)) == 2  # each consent, on import


def test_a_leader_imports_a_nationbuilder_file_into_their_own_list(app, login_as, make_user, make_tag):
    make_tag("volunteer")
    make_tag("Housing")
    leader = make_user("leader")
    actions = login_as(leader)
    import_fixture(actions, "nationbuilder_people.csv")
    assert {p.owner_id for p in stored(app)} == {leader.id}


def test_the_mapping_page_speaks_spanish(login_as, make_user, housing):
    actions = login_as(make_user("organizer"))
    page = upload(actions, (FIXTURES / "action_network_activists.csv").read_bytes(),
                  headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Reconocido como una exportación de Action Network" in page
    assert "Teléfono móvil (para textos)" in page and "Código postal" in page
