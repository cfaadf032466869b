"""How a text body is encoded and split into SMS segments, and what it costs.

An SMS carries 140 bytes. Text that fits the GSM 03.38 alphabet travels as
7-bit septets (160 per lone message, 153 per part of a multipart message, the
other 7 bytes hold the concatenation header); anything else forces UCS-2 for
the *whole* message (70 UTF-16 code units alone, 67 per part). One curly quote
therefore halves the room and can double the price of a mass text.

The numbers here are the worst case: they assume the provider sends the body
as written. Twilio's optional "Smart Encoding" may swap some Unicode look-alikes
(curly quotes, long dashes) for GSM characters and bill fewer segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "GSM7",
    "MAX_BODY_CHARS",
    "UCS2",
    "BodyInfo",
    "analyze",
    "estimate_cost",
]

GSM7 = "GSM-7"
UCS2 = "UCS-2"

#: Twilio refuses longer bodies (error 21617).
MAX_BODY_CHARS = 1600

GSM7_SINGLE_LIMIT = 160
GSM7_MULTIPART_LIMIT = 153
UCS2_SINGLE_LIMIT = 70
UCS2_MULTIPART_LIMIT = 67

# GSM 03.38 basic character set. ESC (0x1B) is left out on purpose: it only
# introduces extension characters and is not something a person types.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as ESC + char, so it costs two septets.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class BodyInfo:
    """What a body costs to send.

    Attributes:
        encoding: ``"GSM-7"`` or ``"UCS-2"``.
        characters: length in the unit the encoding counts: septets for GSM-7
            (extension characters count 2), UTF-16 code units for UCS-2
            (an emoji outside the BMP counts 2).
        segments: billed message parts; 0 for an empty body.
        per_segment_limit: units per part for this body (160/153 or 70/67).
        remaining: units still free in the last part before another part is
            needed (for a "12 characters left" counter).
        non_gsm_chars: the distinct characters, in order of appearance, that
            forced UCS-2 (empty for GSM-7), so the UI can point at them.
        too_long: True when the body exceeds :data:`MAX_BODY_CHARS`.
    """

    encoding: str
    characters: int
    segments: int
    per_segment_limit: int
    remaining: int
    non_gsm_chars: tuple[str, ...] = ()
    too_long: bool = False


def analyze(body: str) -> BodyInfo:
    """Work out the encoding and the number of segments of ``body``.

    Segments are packed the way carriers do: a two-unit item (a GSM escape
    pair or a UTF-16 surrogate pair) is never split across two parts, so a
    multipart count can be one higher than a plain division would suggest.

    Raises:
        TypeError: if ``body`` is not a ``str``.
    """
    if not isinstance(body, str):
        raise TypeError(f"body must be str, not {type(body).__name__}")
    non_gsm = _non_gsm_chars(body)
    if non_gsm:
        encoding, units = UCS2, _utf16_units(body)
        single, multi = UCS2_SINGLE_LIMIT, UCS2_MULTIPART_LIMIT
    else:
        encoding, units = GSM7, [2 if c in _GSM7_EXTENSION else 1 for c in body]
        single, multi = GSM7_SINGLE_LIMIT, GSM7_MULTIPART_LIMIT
    total = sum(units)
    if total <= single:
        segments = 1 if total else 0
        limit, remaining = single, single - total
    else:
        segments, last_used = _pack(units, multi)
        limit, remaining = multi, multi - last_used
    return BodyInfo(
        encoding=encoding,
        characters=total,
        segments=segments,
        per_segment_limit=limit,
        remaining=remaining,
        non_gsm_chars=non_gsm,
        too_long=len(body) > MAX_BODY_CHARS,
    )


def estimate_cost(segments: int, recipients: int, price_per_segment: Decimal) -> Decimal:
    """Return the price of sending ``segments`` parts to ``recipients`` people.

    Raises:
        TypeError: if ``price_per_segment`` is not a ``Decimal`` (a float would
            carry binary rounding error into money).
        ValueError: if any argument is negative.
    """
    if not isinstance(price_per_segment, Decimal):
        raise TypeError("price_per_segment must be a Decimal")
    if segments < 0 or recipients < 0 or price_per_segment < 0:
        raise ValueError("segments, recipients and price must not be negative")
    return price_per_segment * segments * recipients


def _non_gsm_chars(body: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for char in body:
        if char not in _GSM7_BASIC and char not in _GSM7_EXTENSION:
            seen.setdefault(char, None)
    return tuple(seen)


def _utf16_units(body: str) -> list[int]:
    # Characters beyond the BMP (most emoji) need a surrogate pair.
    return [2 if ord(c) > 0xFFFF else 1 for c in body]


def _pack(units: list[int], limit: int) -> tuple[int, int]:
    """Greedily fill parts of ``limit`` units; return (parts, units in last)."""
    parts, used = 1, 0
    for size in units:
        if used + size > limit:
            parts, used = parts + 1, 0
        used += size
    return parts, used
