"""How a text body is encoded and split into SMS segments, and what it costs.

An SMS carries 140 bytes. Text that fits the GSM 03.38 alphabet travels as
7-bit septets (160 per lone message, 153 per part of a multipart message, the
other 7 bytes hold the concatenation header); anything else forces UCS-2 for
the *whole* message (70 UTF-16 code units alone, 67 per part). One curly quote
therefore halves the room and can double the price of a mass text.

Parts are filled the way Twilio's own segment calculator does
(TwilioDevEd/message-segment-calculator, ``SegmentedMessage._buildSegments``
and ``Segment.addHeader``): a part holds 1120 bits, a multipart message gives
48 of them to the concatenation header, and the unit that is never split is
the *extended grapheme cluster* (UAX #29), not the code point. A skin-toned
emoji, a flag, a family or a keycap, or a letter typed with a combining accent
is one cluster of several UTF-16 units, and it moves whole to the next part:
so a 134-unit body can take 3 parts, not 2. Clusters come from the ``regex``
package's ``\\X`` (maintained, follows each new Unicode version, and widely
used; the ``grapheme`` package has not been updated since Unicode 13), which
implements UAX #29 like the calculator's ``grapheme-splitter``. As there,
a CR LF pair is taken as two characters.

The numbers here are the worst case: they assume the provider sends the body
as written. Twilio's optional "Smart Encoding" may swap some Unicode look-alikes
(curly quotes, long dashes) for GSM characters and bill fewer segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import regex

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
#: One SMS carries 140 octets; a part of a multipart message gives 6 of them to the
#: concatenation header (User Data Header).
SEGMENT_BITS = 140 * 8
HEADER_BITS = 6 * 8

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

    Segments are packed the way Twilio's calculator does (see the module
    docstring): a GSM escape pair or a whole grapheme cluster is never split
    across two parts, so a multipart count can be one or more higher than a
    plain division would suggest.

    Raises:
        TypeError: if ``body`` is not a ``str``.
    """
    if not isinstance(body, str):
        raise TypeError(f"body must be str, not {type(body).__name__}")
    clusters = _clusters(body)
    non_gsm = _non_gsm_chars(body)
    if any(len(c) > 1 or c not in _GSM7_BASIC and c not in _GSM7_EXTENSION for c in clusters):
        encoding, unit_bits = UCS2, 16
        units = [_utf16_length(c) for c in clusters]
        single, multi = UCS2_SINGLE_LIMIT, UCS2_MULTIPART_LIMIT
    else:
        encoding, unit_bits = GSM7, 7
        units = [2 if c in _GSM7_EXTENSION else 1 for c in clusters]
        single, multi = GSM7_SINGLE_LIMIT, GSM7_MULTIPART_LIMIT
    total = sum(units)
    parts = _pack(units, unit_bits)
    segments = len(parts) if total else 0
    free_bits = SEGMENT_BITS - sum(parts[-1])
    limit = single if segments <= 1 else multi
    remaining = free_bits // unit_bits
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


def _clusters(body: str) -> list[str]:
    """Extended grapheme clusters, with CR LF taken as two (as Twilio's calculator does)."""
    found: list[str] = []
    for cluster in regex.findall(r"\X", body):
        if cluster == "\r\n":
            found.extend(cluster)
        else:
            found.append(cluster)
    return found


def _utf16_length(text: str) -> int:
    # Characters beyond the BMP (most emoji) need a surrogate pair.
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def _pack(units: list[int], unit_bits: int) -> list[list[int]]:
    """Fill 1120-bit parts with whole clusters (``units`` each, ``unit_bits`` per unit),
    as Twilio's calculator does; returns each part's item sizes in bits, the header's
    six octets included once the message needs more than one part.

    When the first part overflows, it gets its header only then, and the clusters that
    no longer fit move to the front of the next part (``Segment.addHeader``).
    """
    parts: list[list[int]] = [[]]
    for size in (u * unit_bits for u in units):
        if SEGMENT_BITS - sum(parts[-1]) < size:
            parts.append([HEADER_BITS])
            if len(parts) == 2:  # the first part now needs its header too
                first = parts[0]
                first.insert(0, HEADER_BITS)
                moved: list[int] = []
                while sum(first) > SEGMENT_BITS:
                    moved.insert(0, first.pop())
                parts[1].extend(moved)
        parts[-1].append(size)
    return parts
