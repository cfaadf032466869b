"""Reading a phone number as the person who typed it meant it.

A number typed without a country code is read in the organization's own country first.
That is not enough for a federation whose members come from elsewhere: Mexican national
numbers have ten digits, like North American ones, so "55 1234 5678" (Mexico City) is also a
valid New Jersey number, +1 551-234-5678, and a stranger would get the texts. So every place
that takes a phone (person form, public sign-up, walk-in, import, test numbers) asks
``interpret_phone`` with the countries the organization's members commonly come from
(``Organization.member_regions``): a number valid in more than one of them is not saved
silently; the person typing chooses, or the import lists the row to resolve.

Only this module decides how a typed number is read; ``people.services.normalize_phone`` is
the thin wrapper that the services call.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from babel import Locale, UnknownLocaleError
from flask import has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _


class PhoneStatus(StrEnum):
    OK = "ok"  # blank, or exactly one reading (the home country's, or written with +)
    CHOOSE = "choose"  # valid in several member countries, or only in one that is not home
    INVALID = "invalid"  # valid nowhere it could be meant


@dataclass(frozen=True)
class Candidate:
    """One reading of a typed number: the number in E.164 and the country it belongs to."""

    e164: str
    region: str

    @property
    def country_code(self) -> int:
        return phonenumbers.country_code_for_region(self.region)

    def label(self) -> str:
        """"+52 55 1234 5678 (Mexico)": the reading as people write it, with its country's name."""
        number = phonenumbers.parse(self.e164, None)
        formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return f"{formatted} ({country_name(self.region)})"


@dataclass(frozen=True)
class PhoneReading:
    """What ``interpret_phone`` made of a typed number.

    ``e164`` is set only when the reading is unambiguous (``None`` for a blank entry);
    ``candidates`` are the readings to choose from (``CHOOSE``); ``hint`` says what to fix
    (``INVALID``).
    """

    raw: str
    status: PhoneStatus
    e164: str | None = None
    candidates: tuple[Candidate, ...] = ()
    hint: str = ""
    advice: str = ""  # the hint's second sentence: which country code to add

    @property
    def ok(self) -> bool:
        return self.status is PhoneStatus.OK

    @property
    def needs_choice(self) -> bool:
        return self.status is PhoneStatus.CHOOSE


def country_name(region: str) -> str:
    """The country's name in the page's language (English outside a request)."""
    try:
        locale = Locale.parse(str(get_locale())) if has_request_context() else Locale("en")
    except (UnknownLocaleError, ValueError):
        locale = Locale("en")
    return locale.territories.get(region, region)


def parse_regions(value: str | Iterable[str] | None) -> list[str]:
    """ISO region codes from "MX, sv gt" or a list: upper-cased, known to the numbering plans,
    in order, without repeats. Unknown codes are dropped (``unknown_regions`` names them)."""
    if value is None:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    regions: list[str] = []
    for item in items:
        code = item.strip().upper()
        if code in phonenumbers.SUPPORTED_REGIONS and code not in regions:
            regions.append(code)
    return regions


def unknown_regions(value: str) -> list[str]:
    """The codes in ``value`` that name no country with a numbering plan."""
    return [item.upper() for item in value.replace(",", " ").split()
            if item.upper() not in phonenumbers.SUPPORTED_REGIONS]


# "+1" and ten digits, the first 2-9: a North American number exactly as E.164 writes it (exports,
# earlier imports). ``phonenumbers.parse`` gives it country code 1 and those ten digits (the
# national prefix it strips is a leading 1, and an area code never starts with 1), so it is
# built directly: parsing was most of a 100,000-row import's check.
_NANP_E164 = re.compile(r"\+1[2-9]\d{9}")


def _parse(raw: str, region: str | None) -> phonenumbers.PhoneNumber:
    if _NANP_E164.fullmatch(raw):
        return phonenumbers.PhoneNumber(country_code=1, national_number=int(raw[2:]))
    return phonenumbers.parse(raw, region)


# phonenumbers decides whether a number is valid by trying up to eleven patterns of its country,
# twice (once to find its region, ``region_code_for_number``, once to validate it there), looking
# each pattern up in ``re``'s cache on the way: most of a 100,000-row import's check. The helpers
# below give the same answers from the same metadata (tests/people/test_phone_validation.py
# compares them with phonenumbers' own on many generated numbers): each pattern compiled once, the
# usual kinds of number (fixed line, mobile) tried first, and a number found valid while its region
# was looked for not validated again.
_RARER_KINDS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")


@functools.cache
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _matches(nsn: str, desc: phonenumbers.PhoneNumberDesc | None) -> bool:
    """phonenumbers' ``_is_number_matching_desc``: the length first, then the whole pattern."""
    if desc is None or not desc.national_number_pattern:
        return False
    if desc.possible_length and len(nsn) not in desc.possible_length:
        return False
    return _pattern(desc.national_number_pattern).fullmatch(nsn) is not None


def _has_kind(nsn: str, metadata: phonenumbers.PhoneMetadata) -> bool:
    """Whether ``number_type`` would be anything but UNKNOWN. phonenumbers tries the rare kinds
    first and stops at the first that matches: an "or" of the same tests, so the order is free."""
    if not _matches(nsn, metadata.general_desc):
        return False
    if _matches(nsn, metadata.fixed_line):
        return True
    # As phonenumbers: mobile only counts when its pattern differs from the fixed line's.
    if not metadata.same_mobile_and_fixed_line_pattern and _matches(nsn, metadata.mobile):
        return True
    return any(_matches(nsn, getattr(metadata, kind)) for kind in _RARER_KINDS)


def _valid_region(number: phonenumbers.PhoneNumber) -> str | None:
    """The region of a valid ``number``, else ``None``: ``is_valid_number`` with the region
    ``region_code_for_number`` finds (the same steps, in phonenumbers' order)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(number.country_code)
    if regions is None:
        return None
    nsn = phonenumbers.national_significant_number(number)
    found = regions[0] if len(regions) == 1 else None
    for region in regions if found is None else ():
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if _pattern(metadata.leading_digits).match(nsn):
                found = region
                break
        elif _has_kind(nsn, metadata):
            return region  # validated against this very region's metadata: valid
    if found is None:
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(number.country_code, found.upper())
    if metadata is None or (found != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
                            and number.country_code != phonenumbers.country_code_for_valid_region(found)):
        return None
    return found if _has_kind(nsn, metadata) else None


def _valid_reading(raw: str, region: str | None) -> Candidate | None:
    try:
        number = _parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    found = _valid_region(number)
    if found is None:
        return None
    return Candidate(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), found)


def _is_international(raw: str) -> bool:
    return raw.lstrip().startswith("+")


def interpret_phone(raw: str | None, home_region: str, member_regions: Iterable[str] = ()) -> PhoneReading:
    """Read ``raw`` as the organization's people would mean it.

    - Blank: ``OK`` with no number.
    - Written with ``+``: read as written (one reading, or invalid).
    - Otherwise read in ``home_region`` and in each of ``member_regions``. One valid reading,
      the home one: ``OK``. One valid reading in another member country (invalid at home),
      or several (``55 1234 5678`` in the US and in Mexico): ``CHOOSE`` between them, home
      first. None: ``INVALID``, with a hint naming the country code to add.

    Raises nothing.
    """
    text = (raw or "").strip()
    if not text:
        return PhoneReading(raw=text, status=PhoneStatus.OK)
    home = home_region.upper()
    if _is_international(text):
        reading = _valid_reading(text, None)
        if reading is None:
            return PhoneReading(raw=text, status=PhoneStatus.INVALID,
                                hint=_("This is not a valid phone number. Check the digits after the country code."))
        return PhoneReading(raw=text, status=PhoneStatus.OK, e164=reading.e164, candidates=(reading,))
    regions = [home] + [r for r in parse_regions(member_regions) if r != home]
    candidates: list[Candidate] = []
    home_reading = None
    for region in regions:
        reading = _valid_reading(text, region)
        if region == home:
            home_reading = reading
        if reading is not None and reading.e164 not in {c.e164 for c in candidates}:
            candidates.append(reading)
    if len(candidates) == 1 and home_reading is not None:
        return PhoneReading(raw=text, status=PhoneStatus.OK, e164=home_reading.e164, candidates=(home_reading,))
    if candidates:
        return PhoneReading(raw=text, status=PhoneStatus.CHOOSE, candidates=tuple(candidates))
    advice = country_code_advice(home, regions[1:])
    return PhoneReading(raw=text, status=PhoneStatus.INVALID, advice=advice,
                        hint=_("This is not a valid phone number.") + " " + advice)


def country_code_advice(home_region: str, other_regions: list[str]) -> str:
    """What to add to a number valid nowhere: its country code, with an example from the
    organization's member countries when it lists some ("+503 for El Salvador")."""
    home = country_name(home_region)
    if not other_regions:
        return _("If it is from outside %(country)s, add the country code with a + in front.", country=home)
    example = other_regions[0]
    return _("If it is from outside %(country)s, add the country code, for example +%(code)d for %(example)s.",
             country=home, code=phonenumbers.country_code_for_region(example), example=country_name(example))
