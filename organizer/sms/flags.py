"""Flagged numbers: numbers Twilio said cannot take texts (``error_codes``: invalid,
landline, nonexistent, blocked). Later mobilizations leave them out (``services``'
``blocked_reason`` and the audience's exclusions read ``sms_phone_flags``); staff see the
list and why, and clear a flag when the number was fixed or the person confirms it works.

Services only flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Select, bindparam, select

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import paged
from organizer.extensions import db
from organizer.people.models import Person
from organizer.sms.error_codes import rule_for
from organizer.sms.models import PhoneFlag


@dataclass
class FlaggedNumber:
    flag: PhoneFlag
    people: list[Person]

    @property
    def title(self) -> str:
        rule = rule_for(self.flag.error_code)
        return rule.title if rule is not None and rule.known else self.flag.reason


def flagged_numbers(page: int = 1, per_page: int = 50) -> tuple[list[FlaggedNumber], int]:
    """A page of flagged numbers, newest first, each with the people who have that number
    (two queries), and the total. Staff only: the caller checks the role."""
    stmt, total = paged(select(PhoneFlag).order_by(PhoneFlag.flagged_at.desc(), PhoneFlag.id.desc()), page, per_page)
    flags = list(db.session.scalars(stmt))
    by_phone: dict[str, list[Person]] = {}
    if flags:
        for person in db.session.scalars(select(Person).where(Person.phone.in_([f.phone for f in flags]))
                                          .order_by(Person.last_name, Person.first_name)):
            by_phone.setdefault(person.phone or "", []).append(person)
    return [FlaggedNumber(f, by_phone.get(f.phone, [])) for f in flags], total


def flag_for_phone(phone: str | None) -> PhoneFlag | None:
    """The flag on ``phone``, if any. Raises nothing."""
    if not phone:
        return None
    return db.session.scalar(_flag_statement(), {"phone": phone})


@cache
def _flag_statement() -> Select[tuple[PhoneFlag]]:
    """Built once per process: building a statement costs more than running it."""
    return select(PhoneFlag).where(PhoneFlag.phone == bindparam("phone"))


def clear_flag(phone: str, actor: User) -> bool:
    """Clear the flag on ``phone``: the next mobilization texts it again. Audited. Returns
    False when the number had no flag (nothing written)."""
    flag = flag_for_phone(phone)
    if flag is None:
        return False
    record(actor, "clear_flag", flag, {"phone": phone, "error_code": flag.error_code, "reason": flag.reason},
           object_type="sms_phone_flags", summary=phone)
    db.session.delete(flag)
    db.session.flush()
    return True
