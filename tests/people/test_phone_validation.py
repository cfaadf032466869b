"""Organizer's own validity check of a number gives phonenumbers' answer, number for number.

``people.phones`` reads the numbering plans itself (each pattern compiled once, the usual kinds
of number tried first, a number validated once) because ``phonenumbers.is_valid_number`` was most
of a 100,000-row import's check. Any difference would save a number phonenumbers rejects, or
reject one it accepts: these tests compare both on many generated numbers shaped like what
people type (every North American area code, exchanges starting 0 and 1, short, long and
non-geographic numbers, national numbers in the member countries and beyond).
"""

from __future__ import annotations

import random

import phonenumbers
import pytest

from organizer.people.phones import Candidate, _valid_reading, interpret_phone

# Country codes people here dial most, shared ones (+1, +7, +44 with its islands, +590), ones
# whose regions are told apart by leading digits, Italy's leading zero, non-geographic +800/+882.
COUNTRY_CODES = (1, 52, 503, 502, 504, 505, 506, 507, 509, 57, 58, 51, 53, 55, 54, 56, 593, 591, 595, 44, 33, 34, 39,
                 49, 7, 86, 91, 63, 84, 82, 81, 234, 233, 254, 590, 262, 61, 64, 800, 808, 870, 882, 883, 979)
REGIONS = ("US", "CA", "MX", "SV", "GT", "HN", "NI", "CR", "PA", "HT", "DO", "PR", "JM", "CO", "VE", "PE", "CU",
           "BR", "AR", "EC", "GB", "JE", "GG", "IM", "FR", "ES", "IT", "VA", "DE", "RU", "KZ", "CN", "IN", "PH",
           "VN", "KR", "NG", "GP", "BL", "AU", "CX")


def phonenumbers_reading(raw: str, region: str | None) -> Candidate | None:
    """What phonenumbers' public functions make of ``raw``: the valid number and its region."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return Candidate(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                     phonenumbers.region_code_for_number(number))


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def nanp_numbers() -> list[str]:
    """Every area code 000-999, each with exchanges of every first digit (0 and 1 are invalid
    exchanges, N11 and 555 special), as "+1..." (E.164, as exports write it) and "1-..."."""
    rng = random.Random(11)
    numbers = []
    for area in range(1000):
        for first in "0123456789":
            exchange = first + digits(rng, 2)
            numbers.append(f"+1{area:03d}{exchange}{digits(rng, 4)}")
        numbers.append(f"+1{area:03d}555{digits(rng, 4)}")
        numbers.append(f"+1 ({area:03d}) 211-{digits(rng, 4)}")
        numbers.append(f"1-{area:03d}-{rng.randint(200, 999)}-{digits(rng, 4)}")
    return numbers


def international_numbers(count: int = 12_000) -> list[str]:
    """Numbers written with + and a country code, of every plausible length (too short and too
    long too), some with the spaces, dashes and brackets people type."""
    rng = random.Random(12)
    numbers = []
    for _ in range(count):
        number = f"+{rng.choice(COUNTRY_CODES)}{digits(rng, rng.randint(4, 13))}"
        if rng.random() < 0.2:
            cut = rng.randint(3, len(number) - 1)
            number = f"{number[:cut]} {number[cut:]}"
        numbers.append(number)
    return numbers


def national_numbers(count: int = 12_000) -> list[tuple[str, str]]:
    """Numbers typed without a country code, each with the region it is read in."""
    rng = random.Random(13)
    numbers = []
    for _ in range(count):
        region = rng.choice(REGIONS)
        length = len(str(phonenumbers.example_number(region).national_number))
        typed = ("0" if rng.random() < 0.2 else "") + digits(rng, length + rng.choice((-2, -1, 0, 0, 0, 0, 1)))
        numbers.append((typed if rng.random() < 0.7 else f"({typed[:3]}) {typed[3:]}", region))
    return numbers


def test_every_north_american_area_code_is_judged_as_phonenumbers_judges_it():
    numbers = nanp_numbers()
    for region in (None, "US"):
        differ = [n for n in numbers if _valid_reading(n, region) != phonenumbers_reading(n, region)]
        assert differ == [], differ[:20]
    valid = sum(1 for n in numbers if _valid_reading(n, None))
    assert 0.2 * len(numbers) < valid < 0.9 * len(numbers)  # both kinds of answer were compared


def test_numbers_written_with_a_country_code_are_judged_as_phonenumbers_judges_them():
    numbers = international_numbers()
    differ = [n for n in numbers if _valid_reading(n, None) != phonenumbers_reading(n, None)]
    assert differ == [], differ[:20]
    regions = {reading.region for n in numbers if (reading := _valid_reading(n, None))}
    assert len(regions) > 25  # many countries' valid numbers, not only rejections


def test_numbers_typed_without_a_country_code_are_judged_as_phonenumbers_judges_them():
    numbers = national_numbers()
    differ = [(n, r) for n, r in numbers if _valid_reading(n, r) != phonenumbers_reading(n, r)]
    assert differ == [], differ[:20]
    assert sum(1 for n, r in numbers if _valid_reading(n, r)) > 1000


@pytest.mark.parametrize("region", ["US", "CA", "AG", "PR", "GB", "JE", "IM", "RU", "KZ", "GP", "BL", "IT", "VA"])
def test_numbers_sharing_a_country_code_get_the_region_phonenumbers_gives(region):
    # Regions sharing +1, +44, +7, +590 or +39: told apart by leading digits (Antigua's 268,
    # Kazakhstan's 7) or by validating against each region's plan in turn (Canada's area codes).
    raw = phonenumbers.format_number(phonenumbers.example_number(region), phonenumbers.PhoneNumberFormat.E164)
    assert _valid_reading(raw, None) == phonenumbers_reading(raw, None) == Candidate(raw, region)


@pytest.mark.parametrize(("typed", "members"), [("55 1234 5678", ["MX"]), ("7012 3456", ["SV", "GT"]),
                                                 ("312-555-0150", ["MX", "SV"]), ("0171 2345678", ["DE"])])
def test_readings_in_member_countries_are_those_of_phonenumbers(typed, members):
    reading = interpret_phone(typed, "US", members)
    expected = [c for r in ["US", *members] if (c := phonenumbers_reading(typed, r))]
    assert list(reading.candidates) == list(dict.fromkeys(expected))
