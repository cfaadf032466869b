"""Quiet hours: when a text may go out, and how long Twilio may hold it.

Quiet hours are a window of the recipient's local wall-clock time, by default
21:00 to 08:00. The window may cross midnight (21:00-08:00) or not
(12:00-13:00); ``start == end`` means no quiet hours at all.

Each local day's window is turned into a pair of UTC instants: quiet hours
begin at the *first* moment that day's clock reaches ``start`` and end at the
first moment it reaches ``end``. That settles the DST corner cases safely:

* a time skipped by spring-forward (02:30 on the day clocks jump 02:00->03:00)
  is reached at the jump itself, 03:00 local;
* a time repeated by fall-back (01:30 twice) counts at its first occurrence,
  so quiet hours never start late.

A send is only allowed when at least :data:`MIN_VALIDITY_SECONDS` remain
before quiet hours begin. :func:`validity_seconds` never exceeds the time left,
so a text that waits in Twilio's queue expires instead of landing in quiet
hours. (ValidityPeriod bounds Twilio's queue only; a carrier can still
deliver a few seconds late.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

__all__ = [
    "DEFAULT_QUIET_END",
    "DEFAULT_QUIET_START",
    "MIN_VALIDITY_SECONDS",
    "TWILIO_MAX_VALIDITY_SECONDS",
    "is_quiet",
    "next_allowed_send",
    "timezone_for_number",
    "validity_seconds",
]

DEFAULT_QUIET_START = time(21, 0)
DEFAULT_QUIET_END = time(8, 0)
#: Shortest useful ValidityPeriod; less time than this before quiet hours
#: counts as quiet (Twilio itself accepts 1..36000).
MIN_VALIDITY_SECONDS = 60
TWILIO_MAX_VALIDITY_SECONDS = 36000

_Interval = tuple[datetime, datetime]


def is_quiet(
    now_utc: datetime,
    tz: str | ZoneInfo,
    start: time = DEFAULT_QUIET_START,
    end: time = DEFAULT_QUIET_END,
) -> bool:
    """True when ``now_utc`` falls inside quiet hours in ``tz``.

    Raises:
        ValueError: if ``now_utc`` is naive.
        zoneinfo.ZoneInfoNotFoundError: if ``tz`` is not a known IANA zone.
    """
    return _containing(_quiet_intervals(now_utc, _zone(tz), start, end), now_utc) is not None


def next_allowed_send(
    now_utc: datetime,
    tz: str | ZoneInfo,
    start: time = DEFAULT_QUIET_START,
    end: time = DEFAULT_QUIET_END,
    *,
    min_validity: int = MIN_VALIDITY_SECONDS,
) -> datetime:
    """Return ``now_utc`` if a text may go out now, else when quiet hours end.

    "May go out" also needs ``min_validity`` seconds before quiet hours
    begin, so at 20:59:30 the answer is tomorrow's 08:00, not now. The result
    is an aware UTC datetime.

    Raises:
        ValueError: if ``now_utc`` is naive or ``min_validity`` is negative.
        zoneinfo.ZoneInfoNotFoundError: if ``tz`` is not a known IANA zone.
    """
    if min_validity < 0:
        raise ValueError("min_validity must not be negative")
    zone = _zone(tz)
    candidate = _as_utc(now_utc)
    # Each step lands on the end of a quiet window; a few steps suffice unless
    # the allowed gap between windows is shorter than ``min_validity``.
    for _ in range(8):
        blocking = _blocking_window(candidate, zone, start, end, min_validity)
        if blocking is None:
            return candidate
        candidate = blocking[1]
    raise ValueError("quiet hours leave no send window of at least min_validity seconds")


def validity_seconds(
    now_utc: datetime,
    tz: str | ZoneInfo,
    start: time = DEFAULT_QUIET_START,
    end: time = DEFAULT_QUIET_END,
    max_validity: int = 14400,
    *,
    min_validity: int = MIN_VALIDITY_SECONDS,
) -> int:
    """Seconds a text sent now may wait in Twilio's queue (its ValidityPeriod).

    The time until quiet hours begin, capped at ``max_validity`` and Twilio's
    36000. Returns 0 when no text may go out now (inside quiet hours, or fewer
    than ``min_validity`` seconds before they begin): ask
    :func:`next_allowed_send` when to try. Otherwise the result is between
    ``min_validity`` and the cap, and never reaches past the start of quiet
    hours.

    Raises:
        ValueError: if ``now_utc`` is naive, or ``max_validity`` is below
            ``min_validity`` or above 36000, or ``min_validity`` is below 1.
        zoneinfo.ZoneInfoNotFoundError: if ``tz`` is not a known IANA zone.
    """
    if not 1 <= min_validity <= max_validity <= TWILIO_MAX_VALIDITY_SECONDS:
        raise ValueError(
            f"need 1 <= min_validity ({min_validity}) <= max_validity ({max_validity}) <= {TWILIO_MAX_VALIDITY_SECONDS}"
        )
    zone = _zone(tz)
    now_utc = _as_utc(now_utc)
    if _blocking_window(now_utc, zone, start, end, min_validity) is not None:
        return 0
    upcoming = _next_window(now_utc, zone, start, end)
    if upcoming is None:  # start == end: no quiet hours
        return max_validity
    return min(_whole_seconds_until(upcoming[0], now_utc), max_validity)


def timezone_for_number(e164: str, default_tz: str) -> str:
    """Guess the IANA time zone of a phone number.

    Uses the zone libphonenumber gives for the number's area when there is
    exactly one; otherwise (a country with several zones, an area code that
    spans two, an unparsable number) returns ``default_tz``. Numbers are
    portable, so this is a guess: prefer a zone the person gave. Raises nothing.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return default_tz
    zones = phone_timezone.time_zones_for_number(number)
    if len(zones) != 1 or zones[0] == phone_timezone.UNKNOWN_TIMEZONE:
        return default_tz
    try:
        ZoneInfo(zones[0])
    except (ZoneInfoNotFoundError, ValueError):
        return default_tz
    return zones[0]


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now_utc must be timezone-aware")
    return moment.astimezone(UTC)


def _quiet_intervals(now_utc: datetime, zone: ZoneInfo, start: time, end: time) -> list[_Interval]:
    """The quiet windows of the local days around ``now_utc``, as UTC pairs."""
    if start == end:
        return []
    today = _as_utc(now_utc).astimezone(zone).date()
    crosses_midnight = start > end
    intervals = []
    for offset in range(-1, 3):
        day = today + timedelta(days=offset)
        end_day = day + timedelta(days=1) if crosses_midnight else day
        intervals.append((_first_reach(day, start, zone), _first_reach(end_day, end, zone)))
    return intervals


def _next_window(moment: datetime, zone: ZoneInfo, start: time, end: time) -> _Interval | None:
    upcoming = [w for w in _quiet_intervals(moment, zone, start, end) if w[0] > moment]
    return min(upcoming) if upcoming else None


def _blocking_window(moment: datetime, zone: ZoneInfo, start: time, end: time, min_validity: int) -> _Interval | None:
    """The quiet window that forbids sending at ``moment``: the one it is in,
    or the next one if it begins in under ``min_validity`` whole seconds.
    """
    current = _containing(_quiet_intervals(moment, zone, start, end), moment)
    if current is not None:
        return current
    upcoming = _next_window(moment, zone, start, end)
    if upcoming is not None and _whole_seconds_until(upcoming[0], moment) < min_validity:
        return upcoming
    return None


def _whole_seconds_until(later: datetime, moment: datetime) -> int:
    # Floor, so a text expires at or before the first quiet second.
    return int((later - moment).total_seconds())


def _containing(intervals: list[_Interval], moment: datetime) -> _Interval | None:
    for interval in intervals:
        if interval[0] <= moment < interval[1]:
            return interval
    return None


def _first_reach(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The first UTC instant at which the clock in ``zone`` on ``day`` shows
    ``wall`` or, if DST skips that time, jumps past it.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None))
    first, second = sorted(naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    if _local(first, zone) == naive:
        return first  # exists (the earlier of two if repeated)
    # Skipped by a forward jump, which lies between the two readings: bisect
    # on whole seconds (zone transitions fall on whole seconds).
    lo, hi = int(first.timestamp()), int(second.timestamp()) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _local(datetime.fromtimestamp(mid, UTC), zone) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)
