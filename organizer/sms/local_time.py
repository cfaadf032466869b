"""Each recipient's local time: which zones and which windows a text must respect.

**Zones.** The recipient's zone comes, in order, from:

1. the ZIP code of the person's address (:func:`zones_for_postal_code`, a ZIP3 table in
   ``zip_codes.py``; people have no ZIP field yet: :func:`postal_code_of` is the seam, and
   returns ``None``); a prefix that spans zones gives every one of them;
2. the zone recorded on the person (``Person.timezone``);
3. the phone number's area code (libphonenumber's ``time_zones_for_number``). Numbers are
   portable and a member often lives near the federation with a number from elsewhere, so
   the federation's zone stays a candidate too; when the area code spans several zones (208
   Idaho, 605, 701, 907 Alaska), every one of them is a candidate.

A text may go only when it is allowed in *every* candidate zone, and its validity period
ends before the first candidate zone's quiet hours begin.

**Windows.** The federation's ``SMS_QUIET_HOURS`` everywhere, and a state's own window
(``StateQuietHours``) where the recipient's state has one; the state comes from the ZIP (the
seam again) or the area code (libphonenumber's geocoder: "Florida", "Boise, ID"). The
default rows (:data:`DEFAULT_STATE_RULES`) are the states whose telephone-solicitation laws
allow calls and texts in a narrower window than the federal TCPA's 8:00-21:00
(47 CFR 64.1200(c)(1)), as of November 2025:

* Florida Telephone Solicitation Act, Fla. Stat. 501.059(8)(a): 8:00-20:00;
* Oklahoma Telephone Solicitation Act of 2022, 15 O.S. 775C.4: 8:00-20:00;
* Maryland Stop the Spam Calls Act of 2023, Md. Code Com. Law 14-4502: 8:00-20:00;
* and, from the state-by-state tables kept by telemarketing-compliance vendors (ClickPoint,
  "Telemarketing calling restrictions & hours by state", July 2025; Drop Cowboy, "State
  calling restrictions guide", November 2025): Alabama, Louisiana, Massachusetts,
  Mississippi and Washington (RCW 80.36.390) 8:00-20:00; Connecticut and Nevada 9:00-20:00;
  Kentucky 10:00-21:00; Michigan, Minnesota and New Mexico 9:00-21:00.

Organizing texts are rarely "solicitations", but a federation cannot count on that
reading; Sunday and holiday bans (Alabama, Louisiana, Mississippi) are not modeled: admins
can narrow those states' windows. Admins edit the table (``/sms/quiet-hours``).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from time import monotonic
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone
from sqlalchemy import select

from organizer.audit.services import record
from organizer.extensions import db
from organizer.sms import zip_codes
from organizer.sms.models import StateQuietHours
from organizer.sms.quiet_hours import next_allowed_send, validity_seconds

if TYPE_CHECKING:
    from organizer.auth.models import User
    from organizer.people.models import Person

__all__ = [
    "DEFAULT_STATE_RULES",
    "Window",
    "candidate_zones",
    "next_send_time",
    "postal_code_of",
    "seed_state_rules",
    "state_for_number",
    "validity_for",
    "windows_for",
    "zones_for_postal_code",
]

Window = tuple[str, time, time]  # (zone, quiet from, quiet until)

#: (state, allowed from, allowed until, source) — see the module docstring.
DEFAULT_STATE_RULES: tuple[tuple[str, time, time, str], ...] = (
    ("AL", time(8), time(20), "Ala. Code 8-19A (vendor tables, 2025); no Sundays or holidays"),
    ("CT", time(9), time(20), "Conn. Gen. Stat. 42-288a (vendor tables, 2025)"),
    ("FL", time(8), time(20), "Fla. Stat. 501.059(8)(a), Florida Telephone Solicitation Act"),
    ("KY", time(10), time(21), "KRS 367.46955 (vendor tables, 2025)"),
    ("LA", time(8), time(20), "La. R.S. 45:844.17 (vendor tables, 2025); no Sundays or holidays"),
    ("MA", time(8), time(20), "M.G.L. c. 159C (vendor tables, 2025)"),
    ("MD", time(8), time(20), "Md. Code Com. Law 14-4502, Stop the Spam Calls Act of 2023"),
    ("MI", time(9), time(21), "MCL 445.111b (vendor tables, 2025)"),
    ("MN", time(9), time(21), "Minn. Stat. 325E.27 (vendor tables, 2025)"),
    ("MS", time(8), time(20), "Miss. Code 77-3-725 (vendor tables, 2025); no Sundays"),
    ("NM", time(9), time(21), "N.M. Stat. 57-12-22 (vendor tables, 2025)"),
    ("NV", time(9), time(20), "NRS 228.590 (vendor tables, 2025)"),
    ("OK", time(8), time(20), "15 O.S. 775C.4, Oklahoma Telephone Solicitation Act of 2022"),
    ("WA", time(8), time(20), "RCW 80.36.390"),
)

US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA",
    "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
    "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD",
    "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "Washington D.C.": "DC", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY", "Puerto Rico": "PR",
}  # fmt: skip


def _expand(ranges) -> dict:
    return {f"{n:03d}": value for first, last, value in ranges for n in range(int(first), int(last) + 1)}


_ZIP3_ZONES: dict[str, tuple[str, ...]] = _expand(zip_codes.ZIP3_ZONES)
_ZIP3_STATES: dict[str, str] = _expand(zip_codes.ZIP3_STATES)
_ZIP_CODE = re.compile(r"(\d{3})\d{2}(?:-?\d{4})?")


def _zip3(code: str | None) -> str | None:
    match = _ZIP_CODE.fullmatch((code or "").strip())
    return match.group(1) if match else None


def zones_for_postal_code(code: str | None) -> list[str]:
    """The IANA zones of a US ZIP code ("83702", ZIP+4 "83702-1234"), from its first three
    digits (see ``organizer.sms.zip_codes`` for the source): one zone for most, several where
    the prefix's ZIP codes lie in several (979, eastern Oregon: Boise and Los Angeles), the most
    ZIP codes first. Empty for anything else (no code, a foreign or military one, an unused
    prefix). Raises nothing."""
    return list(_ZIP3_ZONES.get(_zip3(code) or "", ()))


def state_for_postal_code(code: str | None) -> str | None:
    """The state (or territory: PR, GU...) of a US ZIP code's prefix; ``None`` for anything
    else. Raises nothing."""
    return _ZIP3_STATES.get(_zip3(code) or "")


def postal_code_of(person: Person | None) -> str | None:
    """The ZIP code of the person's address, if they have one: every text to them then follows
    their ZIP's zones and state before the number's area code."""
    return (person.postal_code or None) if person is not None else None


def zone_from_zip(person: Person | None, postal_code: str | None = None) -> str | None:
    """The zone of ``postal_code`` (else the person's ZIP) when it names exactly one;
    ``None`` when there is no ZIP or its prefix spans zones (see :func:`candidate_zones`)."""
    zones = zones_for_postal_code(postal_code or postal_code_of(person))
    return zones[0] if len(zones) == 1 else None


def state_from_zip(person: Person | None, postal_code: str | None = None) -> str | None:
    """The state of ``postal_code`` (else the person's ZIP), ``None`` without one."""
    return state_for_postal_code(postal_code or postal_code_of(person))


def _parse(phone: str):
    try:
        return phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None


def _valid_zone(name: str | None) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def area_code_zones(phone: str) -> list[str]:
    """Every zone libphonenumber gives for the number's area code (and exchange), valid
    IANA names only; empty when it does not know. Raises nothing."""
    number = _parse(phone)
    if number is None:
        return []
    zones = phone_timezone.time_zones_for_number(number)
    return [z for z in zones if z != phone_timezone.UNKNOWN_TIMEZONE and _valid_zone(z)]


def candidate_zones(phone: str, person: Person | None, org_tz: str, postal_code: str | None = None) -> list[str]:
    """The zones a text to ``phone`` (of ``person``, living at ``postal_code`` when given, else
    at their own ZIP) must respect, in the order of the module docstring. A ZIP whose prefix
    spans zones gives them all, unless the zone recorded on the person is one of them.
    Raises nothing."""
    recorded = person.timezone if person is not None else None
    from_zip = zones_for_postal_code(postal_code or postal_code_of(person))
    if from_zip:
        return [recorded] if recorded in from_zip else from_zip  # type: ignore[list-item]
    if _valid_zone(recorded):
        return [recorded]  # type: ignore[list-item]
    return list(dict.fromkeys([*area_code_zones(phone), org_tz]))


def state_for_number(phone: str) -> str | None:
    """The US state (or PR) of the number's area code, from libphonenumber's geocoder
    ("Florida" or "Miami, FL"); ``None`` when it names no state. Raises nothing."""
    number = _parse(phone)
    if number is None or number.country_code != 1:
        return None
    # Imported here, not at the top: its data takes 0.7 s to load, paid by every process that
    # starts the app (each ``flask`` command, a 100,000-row import) and needed only for texts.
    from phonenumbers import geocoder

    description = geocoder.description_for_number(number, "en")
    if description in US_STATES:
        return US_STATES[description]
    _, _, tail = description.rpartition(", ")
    return tail if tail in US_STATES.values() else None


#: The state windows as (from, until) by state, read at most every RULES_TTL seconds per
#: process: the sender checks every text, and the table changes a few times a year. An
#: admin's edit clears it at once in the process that made it; others follow within the TTL.
RULES_TTL = 30.0
_rules_cache: tuple[float, dict[str, tuple[time, time]]] | None = None


def _state_windows() -> dict[str, tuple[time, time]]:
    global _rules_cache
    now = monotonic()
    if _rules_cache is None or _rules_cache[0] < now:
        rows = db.session.execute(select(StateQuietHours.state, StateQuietHours.allowed_from,
                                         StateQuietHours.allowed_until)).all()
        _rules_cache = (now + RULES_TTL, {state: (start, end) for state, start, end in rows})
    return _rules_cache[1]


def forget_cached_rules() -> None:
    """Read the state table again at the next text (after an edit; tests). Raises nothing."""
    global _rules_cache
    _rules_cache = None


def _state_rule(state: str | None) -> StateQuietHours | None:
    if state is None:
        return None
    return db.session.scalar(select(StateQuietHours).where(StateQuietHours.state == state))


def windows_for(phone: str, person: Person | None, org_tz: str, quiet: tuple[time, time],
                postal_code: str | None = None) -> list[Window]:
    """Every (zone, quiet start, quiet end) a text must stay out of: the federation's quiet
    hours in each candidate zone, and the state's own window there when it has one (the
    state of ``postal_code``, else of the person's ZIP, else of the area code). One query at
    most (the state table is cached, see RULES_TTL). Raises nothing."""
    zones = candidate_zones(phone, person, org_tz, postal_code)
    windows: list[Window] = [(zone, quiet[0], quiet[1]) for zone in zones]
    allowed = _state_windows().get(state_from_zip(person, postal_code) or state_for_number(phone) or "")
    if allowed is not None and allowed[0] != allowed[1]:
        # Allowed from..until means quiet until..from (crossing midnight).
        windows += [(zone, allowed[1], allowed[0]) for zone in zones]
    return windows


def next_send_time(windows: list[Window], now: datetime) -> datetime:
    """``now`` if a text may go now in every window, else the first moment it may."""
    moment = now
    for _ in range(8):
        later = moment
        for zone, start, end in windows:
            later = next_allowed_send(later, zone, start, end)
        if later == moment:
            return moment
        moment = later
    return moment


def validity_for(windows: list[Window], now: datetime, cap: int) -> int:
    """Seconds Twilio may hold a text sent now before any window's quiet hours begin (0:
    not now)."""
    return min(validity_seconds(now, zone, start, end, max_validity=cap) for zone, start, end in windows)


# --- the state table ------------------------------------------------------------------------


def seed_state_rules() -> int:
    """Add the default state windows that are missing (admins' edits are kept). Returns how
    many were added. The caller commits."""
    have = set(db.session.scalars(select(StateQuietHours.state)))
    added = 0
    for state, start, end, source in DEFAULT_STATE_RULES:
        if state not in have:
            db.session.add(StateQuietHours(state=state, allowed_from=start, allowed_until=end, source=source))
            added += 1
    db.session.flush()
    forget_cached_rules()
    return added


def state_rules() -> list[StateQuietHours]:
    """Every state window, by state."""
    return list(db.session.scalars(select(StateQuietHours).order_by(StateQuietHours.state)))


class StateRuleError(ValueError):
    """A state window that cannot be saved (its message is translated)."""


def save_state_rule(actor: User, state: str, allowed_from: time, allowed_until: time, source: str) -> bool:
    """Create or change a state's window. Returns True when anything changed (a form saved
    unchanged writes nothing). Audited. The caller commits.

    :raise StateRuleError: for an unknown state or a window that allows nothing.
    """
    from flask_babel import gettext as _

    state = state.strip().upper()
    if state not in US_STATES.values():
        raise StateRuleError(_("Choose a US state."))
    if allowed_from >= allowed_until:
        raise StateRuleError(_("The window must start before it ends (same day)."))
    rule = _state_rule(state)
    if rule is None:
        rule = StateQuietHours(state=state, allowed_from=allowed_from, allowed_until=allowed_until, source=source)
        db.session.add(rule)
        db.session.flush()
        forget_cached_rules()
        record(actor, "create", rule, {"state": state, "from": str(allowed_from), "until": str(allowed_until)},
               object_type="sms_state_quiet_hours", summary=state)
        return True
    before = (rule.allowed_from, rule.allowed_until, rule.source)
    if before == (allowed_from, allowed_until, source):
        return False
    rule.allowed_from, rule.allowed_until, rule.source = allowed_from, allowed_until, source
    forget_cached_rules()
    record(actor, "update", rule, {"state": state, "from": str(allowed_from), "until": str(allowed_until)},
           object_type="sms_state_quiet_hours", summary=state)
    return True


def delete_state_rule(actor: User, rule: StateQuietHours) -> None:
    """Remove a state's window (that state then follows the federation's quiet hours).
    Audited. The caller commits."""
    record(actor, "delete", rule, {"state": rule.state}, object_type="sms_state_quiet_hours", summary=rule.state)
    db.session.delete(rule)
    forget_cached_rules()

