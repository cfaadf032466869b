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


# --- Twilio's segment calculator (TwilioDevEd/message-segment-calculator) -----------------
# Its tests/index.test.js and tests/segments.test.js, with its own bodies: 160 GSM units in
# one part, 161 (an escape pair plus 159) in two; 70 UCS-2 units in one, 71 in two; 307 GSM
# characters make 153 + 153 + 1, and a 135-unit UCS-2 body makes 67 + 67 + 1.

_DIGITS = "1234567890" * 40


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("{" + _DIGITS[1:159], GSM7, 1),
        ("{" + _DIGITS[1:160], GSM7, 2),
        ("\U0001F61C" + _DIGITS[1:69], UCS2, 1),
        ("\U0001F61C" + _DIGITS[1:70], UCS2, 2),
        (_DIGITS[:307], GSM7, 3),
        ("\U0001F61C" + _DIGITS[1:134], UCS2, 3),
    ],
)
def test_the_calculators_own_cases(body: str, encoding: str, segments: int) -> None:
    info = analyze(body)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_the_calculators_last_part_holds_one_character() -> None:
    assert analyze(_DIGITS[:307]).remaining == 152
    assert analyze("\U0001F61C" + _DIGITS[1:134]).remaining == 66


THUMBS_UP_MEDIUM_SKIN = "\U0001F44D\U0001F3FD"  # 4 UTF-16 units, one cluster
FLAG_MEXICO = "\U0001F1F2\U0001F1FD"  # 4 units
FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467"  # 8 units
KEYCAP_ONE = "1\uFE0F\u20E3"  # 3 units
E_COMBINING_ACUTE = "e\u0301"  # 2 units (é typed as e + accent)


@pytest.mark.parametrize("cluster", [THUMBS_UP_MEDIUM_SKIN, FLAG_MEXICO, FAMILY, KEYCAP_ONE, E_COMBINING_ACUTE])
def test_a_cluster_straddling_the_67_unit_boundary_moves_whole_to_the_next_part(cluster: str) -> None:
    units = len(cluster.encode("utf-16-le")) // 2
    # The cluster starts at unit 66 of the first part, so it cannot fit in its 67.
    body = "я" * 66 + cluster + "я" * (134 - 66 - units)
    info = analyze(body)
    assert info.characters == 134
    assert info.segments == 3  # 66 | cluster + 67 - units ... | the rest


@pytest.mark.parametrize("cluster", [THUMBS_UP_MEDIUM_SKIN, FLAG_MEXICO, FAMILY, KEYCAP_ONE, E_COMBINING_ACUTE])
def test_a_cluster_ending_exactly_on_the_boundary_stays(cluster: str) -> None:
    units = len(cluster.encode("utf-16-le")) // 2
    body = "я" * (67 - units) + cluster + "я" * 67
    info = analyze(body)
    assert (info.characters, info.segments, info.remaining) == (134, 2, 0)


def test_a_cluster_straddling_the_second_boundary() -> None:
    body = "я" * 133 + FAMILY + "я" * 10
    assert analyze(body).segments == 3  # 67 | 66 | family + 10
    assert analyze("я" * 126 + FAMILY + "я" * 67).segments == 3  # 67 | 59 + family | 67


def test_a_lone_message_of_70_units_holds_any_clusters() -> None:
    # Below 70 units there is no header and no boundary to straddle.
    assert analyze(FAMILY * 8 + "я" * 6).segments == 1


def test_emoji_sequence_near_the_gsm_boundary_switches_to_ucs2() -> None:
    info = analyze("a" * 150 + THUMBS_UP_MEDIUM_SKIN)
    assert info.encoding == UCS2
    assert info.segments == 3  # 154 units: 67 | 67 | 16 + 4


def test_crlf_counts_as_two_gsm_characters() -> None:
    info = analyze("Hi\r\nthere")
    assert (info.encoding, info.characters) == (GSM7, 9)
