"""Data quality: which people lack what, as conditions the people list filters on and the
staff report counts (one query for all the counts, two for the duplicate pairs)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, exists, func, or_, select

from organizer.auth.models import User
from organizer.extensions import db
from organizer.people.models import Person, PersonRaceEthnicity, SmsConsent
from organizer.people.services import visible_people

#: Every check, in the report's order; the people list reads ``?quality=<check>``.
CHECKS = ("no_phone", "no_neighborhood", "no_language", "no_race", "flagged", "opted_out", "no_owner",
          "duplicates")


def quality_condition(check: str, user: User) -> ColumnElement[bool]:
    """The condition on ``Person`` for ``check`` (one of ``CHECKS``)."""
    if check == "no_phone":
        return or_(Person.phone.is_(None), Person.phone == "")
    if check == "no_neighborhood":
        return Person.neighborhood_id.is_(None)
    if check == "no_language":
        return or_(Person.preferred_language.is_(None), Person.preferred_language == "")
    if check == "no_race":
        # "Prefer not to say" is an answer: only people never asked count here.
        return ~exists().where(PersonRaceEthnicity.person_id == Person.id)
    if check == "flagged":
        from organizer.sms.models import PhoneFlag  # sms builds on people: imported when used

        return Person.phone.in_(select(PhoneFlag.phone))
    if check == "opted_out":
        return Person.sms_consent == SmsConsent.OPTED_OUT
    if check == "no_owner":
        return Person.owner_id.is_(None)
    if check == "duplicates":
        from organizer.people.duplicates import people_in_duplicate_pairs

        return Person.id.in_(people_in_duplicate_pairs(user))
    raise ValueError(check)


def quality_counts(user: User) -> dict[str, int]:
    """How many people ``user`` may see (archived left out) fail each check, and ``people``
    (all of them) and ``duplicate_pairs``: three queries whatever the size of the federation.

    The column checks are sums over one scan of people; race/ethnicity and flagged numbers are
    counted by joins (a per-row NOT EXISTS inside the sum would run once per person)."""
    from organizer.people.duplicates import count_duplicate_pairs
    from organizer.sms.models import PhoneFlag

    simple = ("no_phone", "no_neighborhood", "no_language", "opted_out", "no_owner")
    sums = visible_people(user).with_only_columns(
        func.count().label("people"),
        *(func.coalesce(func.sum(case((quality_condition(c, user), 1), else_=0)), 0).label(c) for c in simple),
    ).subquery()
    # Both counted from the answers and the flags, each person looked up by id or phone: walking
    # every person to probe those tables would read 100,000 rows for a handful of flags.
    live = visible_people(user).with_only_columns(Person.id)
    with_race = (select(func.count(func.distinct(PersonRaceEthnicity.person_id)))
                 .where(live.where(Person.id == PersonRaceEthnicity.person_id).exists()).scalar_subquery())
    flagged = (visible_people(user).with_only_columns(func.count())
               .where(Person.phone.in_(select(PhoneFlag.phone))).scalar_subquery())
    row = db.session.execute(select(sums, with_race.label("with_race"), flagged.label("flagged"))).one()
    counts = {"people": row.people, **{c: getattr(row, c) for c in simple}}
    counts["no_race"] = row.people - row.with_race
    counts["flagged"] = row.flagged
    counts["duplicate_pairs"] = count_duplicate_pairs(user)
    return {check: counts[check] for check in ("people", *CHECKS[:-1], "duplicate_pairs")}
