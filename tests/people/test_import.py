"""Importing people from a CSV: check every row, preview, confirm, all or nothing, nobody twice."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.people.models import Person, SmsConsent


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path):
    """Uploads waiting for confirmation go to this test's own folder."""
    folder = tmp_path / "imports"
    app.config["PEOPLE_IMPORT_DIR"] = str(folder)
    return folder


@pytest.fixture
def lists(make_neighborhood, make_tag):
    return {"pilsen": make_neighborhood("Pilsen"), "little village": make_neighborhood("La Villita"),
            "youth": make_tag("Youth team"), "housing": make_tag("Housing")}


def upload(actions, body: str | bytes, *, name: str = "people.csv", encoding: str = "utf-8", headers=None,
           **fields):
    data = body if isinstance(body, bytes) else body.encode(encoding)
    return actions.post("/people/import", {"file": (io.BytesIO(data), name), **fields},
                        content_type="multipart/form-data", headers=headers or {})


def confirm(actions, preview_html: str):
    match = re.search(r'name="token"[^>]*value="([^"]+)"', preview_html) or re.search(
        r'value="([^"]+)"[^>]*name="token"', preview_html)
    assert match, "no confirm button on the preview"
    return actions.post("/people/import/confirm", {"token": match.group(1)})


def people_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Person.id)))


def stored(app, **where):
    from sqlalchemy.orm import selectinload

    with app.app_context():
        stmt = select(Person).options(selectinload(Person.tags), selectinload(Person.neighborhood))
        for key, value in where.items():
            stmt = stmt.where(getattr(Person, key) == value)
        people = list(db.session.scalars(stmt.order_by(Person.id)))
        for person in people:
            db.session.expunge(person)
        return people


GOOD = (
    "First name,Last name,Phone,Email,Neighborhood,Language,Tags,SMS consent,Notes,Shirt size\n"
    "María,García,(312) 555-0101,Maria@Example.org,pilsen,Spanish,Youth team;housing,yes,Knows the pastor,M\n"
    "John,Lee,312-555-0102,,LA VILLITA,en,,no,,L\n"
    "Ana,,,ana@example.org,,,,,,\n"
)


def test_a_good_file_is_previewed_then_imported_with_lists_language_and_consent(app, login_as, make_user, lists):
    organizer = make_user("organizer")
    leader = make_user("leader", name="Rosa Leader")
    actions = login_as(organizer)

    preview = upload(actions, GOOD, owner_id=str(leader.id))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert 'data-testid="to-add">3<' in html and 'data-testid="errors">0<' in html
    assert "Shirt size" in html and "María" in html and "Rosa Leader" in html
    assert people_count(app) == 0  # the preview writes nothing

    response = confirm(actions, html)
    assert response.status_code == 302
    maria, john, ana = stored(app)
    assert (maria.first_name, maria.last_name, maria.phone, maria.email) == (
        "María", "García", "+13125550101", "maria@example.org")
    assert maria.neighborhood.name == "Pilsen" and john.neighborhood.name == "La Villita"
    assert [t.name for t in maria.tags] == ["Housing", "Youth team"]
    assert (maria.preferred_language, john.preferred_language, ana.preferred_language) == ("es", "en", None)
    assert (maria.sms_consent, john.sms_consent, ana.sms_consent) == (
        SmsConsent.OPTED_IN, SmsConsent.OPTED_OUT, SmsConsent.UNKNOWN)
    assert maria.sms_consent_at is not None and "imported" in maria.sms_consent_source
    assert maria.notes == "Knows the pastor"
    assert {p.owner_id for p in (maria, john, ana)} == {leader.id}
    assert {p.created_by_id for p in (maria, john, ana)} == {organizer.id}
    assert maria.search_key == "maria garcia |  | maria@example.org"  # search finds "garcia"


def test_the_import_is_one_audit_event_with_counts_and_file_name(app, login_as, make_user, lists):
    from organizer.audit.models import AuditEvent

    actions = login_as(make_user("organizer"))
    confirm(actions, upload(actions, GOOD, name="members.csv").get_data(as_text=True))
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "people")))
    assert [(e.action, e.details["added"], e.details["file"]) for e in events] == [("import", 3, "members.csv")]


def test_spanish_headers_are_recognized(app, login_as, make_user, lists):
    actions = login_as(make_user("organizer"))
    body = ("Nombre;Apellido;Teléfono;Correo;Barrio;Idioma;Etiquetas;Textos\n"
            "José;Núñez;312 555 0103;jose@example.org;Pilsen;Español;Housing;sí\n")
    confirm(actions, upload(actions, body).get_data(as_text=True))
    [jose] = stored(app)
    assert (jose.first_name, jose.last_name, jose.phone, jose.email) == ("José", "Núñez", "+13125550103",
                                                                         "jose@example.org")
    assert jose.neighborhood.name == "Pilsen" and jose.preferred_language == "es"
    assert [t.name for t in jose.tags] == ["Housing"] and jose.sms_consent is SmsConsent.OPTED_IN


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "latin-1"])
def test_excel_encodings_are_read(app, login_as, make_user, encoding):
    actions = login_as(make_user("organizer"))
    body = "First name,Last name\nMaría,Peña\n"
    confirm(actions, upload(actions, body, encoding=encoding).get_data(as_text=True))
    assert [(p.first_name, p.last_name) for p in stored(app)] == [("María", "Peña")]


def test_a_semicolon_file_with_quoted_cells_is_read(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    body = 'First name;Last name;Address\n"Li";"Wu";"1800 S Blue Island; Apt 2"\n'
    confirm(actions, upload(actions, body).get_data(as_text=True))
    [li] = stored(app)
    assert (li.first_name, li.last_name, li.address) == ("Li", "Wu", "1800 S Blue Island; Apt 2")


def test_errors_are_listed_by_line_and_column_and_nothing_is_written(app, login_as, make_user, make_person, lists):
    make_person(first_name="Old", phone="+13125550199")
    actions = login_as(make_user("organizer"))
    body = (
        "Nombre,Teléfono,Email,Barrio,Tags,Idioma,SMS\n"
        "Ok,312-555-0111,,,,,\n"            # line 2: fine
        ",312-555-0112,,,,,\n"              # line 3: no first name
        "Bad,12,,,,,\n"                     # line 4: bad phone
        "Mail,,not-an-email,,,,\n"          # line 5: bad email
        "Hood,,,Atlantis,,,\n"              # line 6: unknown neighborhood
        "Tag,,,,Chess club,,\n"             # line 7: unknown tag
        "Lang,,,,,Klingon,\n"               # line 8: unknown language
        "Consent,,,,,,maybe\n"              # line 9: not yes/no
        "OK,(312) 555-0111,,,,,\n"          # line 10: same phone and name as line 2
    )
    before = people_count(app)
    html = upload(actions, body).get_data(as_text=True)
    errors = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    assert [(int(line), column) for line, column, _ in errors] == [
        (3, "Nombre"), (4, "Teléfono"), (5, "Email"), (6, "Barrio"), (7, "Tags"), (8, "Idioma"), (9, "SMS"),
        (10, "Teléfono")]
    messages = dict((int(line), message) for line, _, message in errors)
    assert "Atlantis" in messages[6] and "admin can add it" in messages[6]
    assert "line 2" in messages[10]
    assert "Nothing was imported" in html and 'name="token"' not in html
    assert people_count(app) == before


def test_a_row_that_also_matches_an_earlier_line_by_email_is_an_error(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    body = "First name,Email\nA,same@example.org\nB,SAME@example.org\n"
    html = upload(actions, body).get_data(as_text=True)
    assert "<tr><td>3</td><td>Email</td><td>Same email as line 2.</td></tr>" in html
    assert people_count(app) == 0


def test_the_error_list_is_capped_with_a_count_of_the_rest(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    body = "First name,Phone\n" + "X,1\n" * 250
    html = upload(actions, body).get_data(as_text=True)
    assert 'data-testid="errors">250<' in html
    assert html.count("is not a valid phone number") == 200 and "and 50 more errors" in html


def test_people_already_in_organizer_are_skipped_not_duplicated_nor_changed(app, login_as, make_user, make_person):
    old = make_person(first_name="Carmen", last_name="Old", phone="+13125550120", email="carmen@example.org")
    from organizer.db import utcnow

    archived = make_person(first_name="Gone", last_name="Away", phone="+13125550121", archived_at=utcnow())
    actions = login_as(make_user("organizer"))
    body = ("First name,Last name,Phone,Email\n"
            "Carmen,New,,CARMEN@example.org\n"
            "GONE,Away,312-555-0121,\n"  # same phone and name (case aside): the same person
            "Fresh,Person,312-555-0122,\n")
    html = upload(actions, body).get_data(as_text=True)
    assert 'data-testid="to-add">1<' in html and 'data-testid="already">2<' in html
    assert f'/people/{old.id}"' in html and f'/people/{archived.id}"' in html
    confirm(actions, html)
    assert people_count(app) == 3
    [carmen] = stored(app, id=old.id)
    assert carmen.last_name == "Old"  # not overwritten


def test_a_leaders_import_is_theirs_and_never_names_other_leaders_people(app, login_as, make_user, make_person):
    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader, first_name="Mine", last_name="Own", phone="+13125550130")
    make_person(owner=other, first_name="Zqsecret", last_name="Hidden", phone="+13125550131")
    organizer = make_user("organizer")
    actions = login_as(leader)
    assert 'name="owner_id"' not in actions.client.get("/people/import").get_data(as_text=True)
    body = ("First name,Last name,Phone\n"
            "Mine,Own,312-555-0130\n"
            "Zqsecret,Hidden,312-555-0131\n"
            "New one,,312-555-0132\n")
    html = upload(actions, body, owner_id=str(organizer.id)).get_data(as_text=True)  # a leader cannot choose
    assert 'data-testid="already">2<' in html and f'/people/{mine.id}"' in html
    # The mapping's sample cells echo the leader's own file; nothing else may name the match.
    about_matches = re.sub(r'<td class="d-none d-md-table-cell text-muted small">.*?</td>', "", html)
    assert "Zqsecret" not in about_matches and "Line 3" not in html and "outside your list" in html
    confirm(actions, html)
    [new] = stored(app, first_name="New one")
    assert new.owner_id == leader.id and new.created_by_id == leader.id
    assert people_count(app) == 3


def test_notes_are_ignored_in_a_leaders_file_and_the_page_says_so(app, login_as, make_user):
    leader = make_user("leader")
    actions = login_as(leader)
    html = upload(actions, "First name,Notas\nPaz,Private remark\n").get_data(as_text=True)
    assert "notes column is ignored" in html and "will be ignored: Notas" not in html
    confirm(actions, html)
    [paz] = stored(app)
    assert paz.notes is None and paz.owner_id == leader.id


def test_a_file_with_too_many_rows_is_refused(app, login_as, make_user):
    app.config["PEOPLE_IMPORT_MAX_ROWS"] = 5
    actions = login_as(make_user("organizer"))
    html = upload(actions, "First name\n" + "A\n" * 6).get_data(as_text=True)
    assert "more than 5 rows" in html and people_count(app) == 0


def test_a_file_that_is_too_big_is_refused(app, login_as, make_user):
    app.config["PEOPLE_IMPORT_MAX_BYTES"] = 1000
    actions = login_as(make_user("organizer"))
    html = upload(actions, "First name\n" + "Alexandria\n" * 200).get_data(as_text=True)
    assert "The file is too big" in html and people_count(app) == 0


def test_a_request_over_the_upload_limit_gets_a_clear_error_page(app, login_as, make_user):
    app.config["MAX_CONTENT_LENGTH"] = 2000
    actions = login_as(make_user("organizer"))
    response = upload(actions, "First name\n" + "Alexandria\n" * 500)
    assert response.status_code == 413 and "too big" in response.get_data(as_text=True)


@pytest.mark.parametrize(("name", "body", "message"), [
    ("people.xlsx", b"First name\nAna\n", "Only .csv files"),
    ("people.csv", b"PK\x03\x04\x14\x00\x06\x00workbook", "This is not a CSV file"),
    ("people.csv", b"", "The file is empty."),
    ("people.csv", b"Phone,Email\n3125550100,a@example.org\n", "at least a first name"),
])
def test_what_is_not_a_people_csv_is_refused(app, login_as, make_user, name, body, message):
    actions = login_as(make_user("organizer"))
    html = upload(actions, body, name=name).get_data(as_text=True)
    assert message in html and people_count(app) == 0


def test_sending_no_file_asks_for_one(login_as, make_user):
    actions = login_as(make_user("organizer"))
    response = actions.post("/people/import", {}, content_type="multipart/form-data")
    assert response.status_code == 200 and "Choose a CSV file." in response.get_data(as_text=True)


def test_the_import_needs_a_csrf_token(app, login_as, make_user):
    actions = login_as(make_user("organizer"))
    response = actions.client.post("/people/import", data={"file": (io.BytesIO(b"First name\nA\n"), "a.csv")},
                                   content_type="multipart/form-data")
    assert response.status_code == 400 and people_count(app) == 0


def test_a_preview_can_be_confirmed_once_and_only_by_its_uploader(app, login_as, make_user):
    organizer = make_user("organizer")
    actions, someone_else = login_as(organizer), login_as(make_user("organizer"))
    html = upload(actions, "First name\nUna\n").get_data(as_text=True)
    token = re.search(r'name="token"[^>]*value="([^"]+)"', html).group(1)
    assert someone_else.post("/people/import/confirm", {"token": token}).status_code == 302
    assert people_count(app) == 0
    confirm(actions, html)
    confirm(actions, html)  # a second click finds nothing waiting
    assert people_count(app) == 1


def test_the_people_list_links_to_the_import(login_as, make_user):
    html = login_as(make_user("leader")).client.get("/people/").get_data(as_text=True)
    assert 'href="/people/import"' in html


def test_the_command_line_import_reports_the_same_line_errors(app, runner, make_user, tmp_path):
    admin = make_user("admin")
    path = tmp_path / "sheet.csv"
    path.write_text("First name,Phone\nA,312-555-0140\n,312-555-0141\nC,99\n", encoding="utf-8")
    result = runner.invoke(args=["people", "import", str(path), "--by", admin.email])
    assert result.exit_code != 0
    assert "line 3, First name: A first name is required." in result.output
    assert "line 4, Phone: “99” is not a valid phone number." in result.output
    assert people_count(app) == 0


def test_the_command_line_import_adds_people_for_an_owner(app, runner, make_user, tmp_path):
    admin, leader = make_user("admin"), make_user("leader")
    path = tmp_path / "sheet.csv"
    path.write_text("Nombre,Celular\nA,312-555-0150\nB,312-555-0151\n", encoding="utf-8")
    result = runner.invoke(args=["people", "import", str(path), "--by", admin.email, "--owner", leader.email])
    assert result.exit_code == 0, result.output
    assert "added 2" in result.output
    assert [(p.owner_id, p.created_by_id) for p in stored(app)] == [(leader.id, admin.id)] * 2


def _rows(count: int, start: int = 0) -> str:
    return "First name,Phone,Email,Neighborhood,Tags\n" + "".join(
        f"P{i},312-555-{1000 + i:04d},p{i}@example.org,Pilsen,Youth team;Housing\n"
        for i in range(start, start + count))


def test_checking_and_importing_take_a_fixed_number_of_queries(app, login_as, make_user, lists, count_queries):
    actions = login_as(make_user("organizer"))
    actions.csrf_token("/")
    counts = []
    for size, start in ((10, 0), (200, 5)):  # the second file also finds 5 of the first one's people
        with count_queries() as preview_queries:
            html = upload(actions, _rows(size, start)).get_data(as_text=True)
        with count_queries() as import_queries:
            confirm(actions, html)
        counts.append((preview_queries.count, import_queries.count))
    assert people_count(app) == 10 + 195
    assert counts[0] == counts[1]


def test_the_import_pages_speak_spanish(login_as, make_user):
    actions = login_as(make_user("leader"))
    page = actions.client.get("/people/import", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Importar personas desde una hoja de cálculo" in page and "Revisar el archivo" in page
    preview = upload(actions, "Nombre,Teléfono\n,12\n", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Falta el nombre." in preview and "“12” no es un número de teléfono válido." in preview
