"""The people export writes exactly what a plain, slow reading of the same people writes: every
person loaded as an object, every phone formatted by phonenumbers itself, every value defused
one by one. The export's shortcuts (one query, layouts of North American exchanges reused,
formula defusing written inline) change its speed, never a byte."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from organizer.extensions import db
from tests.people.test_phone_format import phonenumbers_format

NANP_PHONES = ["+13125550142", "+13125550199", "+13125019876", "+17735550100", "+16045551234", "+14165550000",
               "+18005551234", "+19005550000", "+12685551234", "+17875550123", "+12125550000"]
FOREIGN_PHONES = ["+525512345678", "+442079460000", "+4915123456789", "+33612345678", "+5491123456789"]


def _defused(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not value[1:].isdigit():
        return "'" + value
    return value


def _reference_export(app, region: str) -> str:
    from organizer.people.models import Person

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "first_name", "last_name", "preferred_name", "phone", "email", "address", "city",
                     "postal_code", "other_phones", "neighborhood", "language", "tags", "sms_consent",
                     "race_ethnicity", "notes"])
    with app.app_context():
        people = db.session.scalars(
            select(Person).where(Person.archived_at.is_(None)).order_by(Person.last_name, Person.first_name, Person.id)
            .options(selectinload(Person.tags), selectinload(Person.race_ethnicities),
                     selectinload(Person.neighborhood))).all()
        for p in people:
            others = "; ".join(phonenumbers_format(n, region) for n in p.other_phones.split(";")) if p.other_phones else ""
            row = [p.id, p.first_name, p.last_name, p.preferred_name, phonenumbers_format(p.phone, region), p.email,
                   p.address, p.city, p.postal_code, others, p.neighborhood.name if p.neighborhood else None,
                   p.preferred_language, ";".join(sorted(t.name for t in p.tags)), p.sms_consent.value,
                   ";".join(sorted(r.value.value for r in p.race_ethnicities)), p.notes]
            writer.writerow([_defused(v) for v in row])
    return "\ufeff" + out.getvalue()


def _varied_people(app, make_person, make_neighborhood, make_tag):
    """People with every kind of value the export formats: phones at home, elsewhere in North
    America and abroad, several numbers, formulas, quotes and line breaks, accents, tags,
    race/ethnicity, each consent, a neighborhood or none; one archived (not exported)."""
    from organizer.people.models import PersonRaceEthnicity, RaceEthnicity, SmsConsent, person_tags

    north, south = make_neighborhood("Pilsen"), make_neighborhood("Little Village")
    tags = [make_tag("Youth"), make_tag("Tenant"), make_tag("Ñandú team")]
    phones = NANP_PHONES + FOREIGN_PHONES
    consents = list(SmsConsent)
    names = ["María José", "=HYPERLINK(\"x\")", "+SUM(A1)", "-2", "@cmd", "Zoë", "O'Brien, \"Bo\"", "Lee"]
    people = []
    for i in range(40):
        people.append(make_person(
            first_name=names[i % len(names)], last_name=f"Ávila{i % 7}", preferred_name="\t=1+1" if i % 9 == 0 else None,
            phone=phones[i % len(phones)] if i % 6 else None,
            other_phones=";".join(phones[(i + k) % len(phones)] for k in (1, 5)) if i % 4 == 0 else None,
            email=f"p{i}@example.org" if i % 3 else None, address="12 Main St\nApt 3" if i % 5 == 0 else None,
            city="Chicago" if i % 2 else None, postal_code="-0607" if i == 7 else "60608",
            neighborhood_id=(north.id, south.id, None)[i % 3], preferred_language=("es", "en", None)[i % 3],
            sms_consent=consents[i % len(consents)], notes="-1+1" if i % 8 == 0 else ("Met, at the fair" if i % 2 else None),
            archived_at=datetime(2026, 1, 1, tzinfo=UTC) if i == 13 else None,
        ))
    with app.app_context():
        for i, person in enumerate(people):
            chosen = tags[: i % 4]
            if chosen:
                db.session.execute(person_tags.insert(), [{"person_id": person.id, "tag_id": t.id} for t in chosen])
            for value in list(RaceEthnicity)[: i % 3]:
                db.session.add(PersonRaceEthnicity(person_id=person.id, value=value))
        db.session.commit()
    return people


def test_the_export_is_byte_for_byte_what_a_slow_reading_of_the_people_writes(
        app, login_as, make_user, make_person, make_neighborhood, make_tag, organization):
    _varied_people(app, make_person, make_neighborhood, make_tag)
    from organizer.settings.models import Organization

    client = login_as(make_user("organizer")).client
    organization()
    for region in ("US", "CA", "MX"):  # what is "at home" changes which numbers are national
        with app.app_context():
            db.session.get(Organization, 1).default_phone_region = region
            db.session.commit()
        exported = client.get("/people/export.csv").get_data(as_text=True)

        assert exported == _reference_export(app, region), region
        assert exported.count("\n") > 40  # 39 people and the header, line breaks in addresses quoted
