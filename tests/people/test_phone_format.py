"""``format_phone`` answers what phonenumbers answers, for every number.

North American numbers take a layout shared by their exchange (the first six digits), built
from the first number of that exchange that phonenumbers formatted; these tests compare the
shortcut with phonenumbers itself on other numbers of the same exchanges, across every area
code, at home and abroad."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest

from organizer.people import services
from organizer.people.services import format_phone


def phonenumbers_format(e164: str | None, region: str) -> str:
    """phonenumbers' own answer, without any cache or layout: the reference."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    shape = (phonenumbers.PhoneNumberFormat.NATIONAL if phonenumbers.region_code_for_number(parsed) == region
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, shape)


@pytest.fixture(autouse=True)
def fresh_layouts(monkeypatch):
    """No layout left from another test: each exchange's layout is built here."""
    monkeypatch.setattr(services, "_NANP_TEMPLATES", {})


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a metadata pattern."""
    parts, depth = [""], 0
    for char in pattern:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            parts.append("")
        else:
            parts[-1] += char
    return parts


def _literal_width(pattern: str) -> int:
    """How many leading digits a pattern of digits and classes ("8[024]9") reads."""
    assert re.fullmatch(r"[0-9\[\]\-]+", pattern), pattern
    return len(re.sub(r"\[[^\]]*\]", "X", pattern))


def test_the_metadata_decides_a_north_american_number_by_its_first_six_digits():
    """The premises of the shared layouts, on the phonenumbers installed: a region of the plan
    claims its numbers by area code, or (the US, Canada) by patterns whose last four digits or
    more are any digits; the plan's layouts take any digits, chosen by at most six."""
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    for region in COUNTRY_CODE_TO_REGION_CODE[1]:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata.leading_digits is not None:
            assert all(_literal_width(p) <= 6 for p in metadata.leading_digits.split("|")), region
            continue
        for kind in ("general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
                     "personal_number", "voip", "pager", "uan", "voicemail"):
            desc = getattr(metadata, kind)
            for alternative in _alternatives(desc.national_number_pattern or "") if desc else []:
                tail = re.search(r"\\d\{(\d+)(?:,\d+)?\}$", alternative)
                assert tail and int(tail[1]) >= 4, (region, kind, alternative)
    plan = phonenumbers.PhoneMetadata.metadata_for_region("US")
    for layout in list(plan.number_format) + list(plan.intl_number_format):
        assert re.fullmatch(r"(\(\\d\{\d+\}\))+", layout.pattern), layout.pattern
        for leading in layout.leading_digits_pattern:
            # every digit the pattern names, whatever the branch: more than any one branch reads
            assert _literal_width(re.sub(r"\(\?:|\)|\|", "", leading)) <= 6, leading


def test_every_area_code_formats_as_phonenumbers_does_at_home_and_abroad():
    rng = random.Random(20261130)
    mismatches = []
    for area in range(1000):  # invalid area codes (0xx, 1xx) too: their numbers are shown as written
        for exchange in rng.sample(range(1000), 3):
            first, second = (f"+1{area:03d}{exchange:03d}{rng.randrange(10_000):04d}" for _ in range(2))
            for region in ("US", "CA", "PR", "BB", "GB"):
                format_phone(first, region)  # builds the exchange's layout from this number
                if format_phone(second, region) != phonenumbers_format(second, region):
                    mismatches.append((second, region, format_phone(second, region)))

    assert mismatches == []


def test_an_exchange_formats_every_line_number_as_phonenumbers_does():
    # Chicago at home (national form) and a Caribbean number abroad, all 10,000 lines of each.
    for exchange, region in (("+1312555", "US"), ("+1268464", "US"), ("+1604555", "CA")):
        numbers = [f"{exchange}{line:04d}" for line in range(10_000)]
        assert [format_phone(n, region) for n in numbers] == [phonenumbers_format(n, region) for n in numbers]


@pytest.mark.parametrize("number", ["+525512345678", "+442079460000", "+4915123456789", "+13125550", "+1312555014x",
                                    "+1312555٠١٤٢", "13125550142", "+1 312 555 0142"])
def test_other_numbers_and_odd_values_go_to_phonenumbers_unchanged(number):
    for region in ("US", "MX", "GB"):
        assert format_phone(number, region) == phonenumbers_format(number, region)


def test_no_number_is_an_empty_cell():
    assert format_phone(None) == format_phone("") == ""
