"""Segment counting for GSM-7 and UCS-2 bodies, and cost estimates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from organizer.sms.encoding import GSM7, MAX_BODY_CHARS, UCS2, analyze, estimate_cost


def test_empty_body_is_zero_segments() -> None:
    info = analyze("")
    assert (info.encoding, info.characters, info.segments) == (GSM7, 0, 0)
    assert info.remaining == 160


def test_plain_text_is_gsm7() -> None:
    info = analyze("Hearing at City Hall, 6pm! Bring a friend @ the door.")
    assert info.encoding == GSM7
    assert info.segments == 1
    assert info.non_gsm_chars == ()


def test_gsm_accented_letters_stay_gsm7() -> None:
    assert analyze("¡Señor! ¿Qué? Ñ àèéìòù Ç ÄÖÜ äöü ß £¥§").encoding == GSM7


def test_spanish_acute_vowels_other_than_e_force_ucs2() -> None:
    # GSM has é but not á, í, ó, ú: "Reunión" costs twice as much as "Reunion".
    info = analyze("Reunión mañana")
    assert info.encoding == UCS2
    assert info.non_gsm_chars == ("ó",)


@pytest.mark.parametrize(
    ("length", "segments", "limit", "remaining"),
    [(1, 1, 160, 159), (160, 1, 160, 0), (161, 2, 153, 145), (306, 2, 153, 0), (307, 3, 153, 152), (459, 3, 153, 0)],
)
def test_gsm7_segment_boundaries(length: int, segments: int, limit: int, remaining: int) -> None:
    info = analyze("a" * length)
    assert (info.characters, info.segments, info.per_segment_limit, info.remaining) == (
        length,
        segments,
        limit,
        remaining,
    )


@pytest.mark.parametrize("char", list("^{}\\[~]|€"))
def test_extension_characters_count_two_septets(char: str) -> None:
    info = analyze(char)
    assert info.encoding == GSM7
    assert info.characters == 2


def test_extension_characters_push_over_a_boundary() -> None:
    assert analyze("a" * 158 + "€").segments == 1  # 160 septets
    assert analyze("a" * 159 + "€").segments == 2  # 161 septets


def test_escape_pair_is_never_split_across_parts() -> None:
    # 306 septets would fit two parts, but the € cannot straddle them.
    info = analyze("a" * 152 + "€" + "a" * 152)
    assert info.characters == 306
    assert info.segments == 3


def test_one_curly_quote_forces_ucs2() -> None:
    info = analyze("Don\u2019t forget the hearing")
    assert info.encoding == UCS2
    assert info.non_gsm_chars == ("\u2019",)
    assert info.per_segment_limit == 70


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_segment_boundaries(length: int, segments: int) -> None:
    info = analyze("я" * length)
    assert info.encoding == UCS2
    assert info.characters == length
    assert info.segments == segments


def test_emoji_counts_two_code_units() -> None:
    info = analyze("✊🏽")  # U+270A is BMP, the skin tone modifier is not
    assert info.encoding == UCS2
    assert info.characters == 3
    assert analyze("🎉" * 35).segments == 1  # 70 units
    assert analyze("🎉" * 36).segments == 2  # 72 units


def test_surrogate_pair_is_never_split_across_parts() -> None:
    # 134 units would fit two parts of 67, but the emoji cannot straddle them.
    info = analyze("я" * 66 + "🎉" + "я" * 66)
    assert info.characters == 134
    assert info.segments == 3


def test_non_gsm_chars_listed_once_in_order() -> None:
    assert analyze("“Hi” — “bye”").non_gsm_chars == ("“", "”", "—")


def test_too_long_flag() -> None:
    assert not analyze("a" * MAX_BODY_CHARS).too_long
    assert analyze("a" * (MAX_BODY_CHARS + 1)).too_long


def test_analyze_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        analyze(None)  # type: ignore[arg-type]


def test_estimate_cost() -> None:
    assert estimate_cost(2, 150, Decimal("0.0079")) == Decimal("2.3700")
    assert estimate_cost(0, 150, Decimal("0.0079")) == 0


def test_estimate_cost_rejects_floats_and_negatives() -> None:
    with pytest.raises(TypeError):
        estimate_cost(1, 1, 0.0079)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        estimate_cost(-1, 1, Decimal("0.01"))
    with pytest.raises(ValueError):
        estimate_cost(1, -1, Decimal("0.01"))
