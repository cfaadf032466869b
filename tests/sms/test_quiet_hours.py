"""Quiet hours in the recipient's zone, including DST changes.

America/Chicago in 2024: clocks sprang forward 02:00 CST -> 03:00 CDT on
March 10 (08:00 UTC) and fell back 02:00 CDT -> 01:00 CST on November 3
(07:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from organizer.sms.quiet_hours import (
    is_quiet,
    next_allowed_send,
    timezone_for_number,
    validity_seconds,
)

CHI = "America/Chicago"
UTC = UTC


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def chicago(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, fold: int = 0
) -> datetime:
    """A Chicago wall-clock time, as UTC (``fold=1``: the repeated hour's second pass)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(CHI), fold=fold).astimezone(UTC)


# --- the default 21:00-08:00 window ----------------------------------------------


def test_midday_is_allowed_now() -> None:
    now = chicago(2024, 6, 3, 12, 0)
    assert not is_quiet(now, CHI)
    assert next_allowed_send(now, CHI) == now
    assert validity_seconds(now, CHI) == 14400  # capped at max_validity


def test_evening_waits_for_next_morning() -> None:
    now = chicago(2024, 6, 3, 22, 15)
    assert is_quiet(now, CHI)
    assert next_allowed_send(now, CHI) == chicago(2024, 6, 4, 8, 0)
    assert validity_seconds(now, CHI) == 0


def test_after_midnight_waits_for_same_morning() -> None:
    now = chicago(2024, 6, 4, 2, 0)
    assert next_allowed_send(now, CHI) == chicago(2024, 6, 4, 8, 0)


def test_window_edges() -> None:
    assert is_quiet(chicago(2024, 6, 3, 21, 0), CHI)
    assert not is_quiet(chicago(2024, 6, 3, 20, 59, 59), CHI)
    assert not is_quiet(chicago(2024, 6, 4, 8, 0), CHI)
    assert is_quiet(chicago(2024, 6, 4, 7, 59, 59), CHI)
    assert next_allowed_send(chicago(2024, 6, 4, 8, 0), CHI) == chicago(2024, 6, 4, 8, 0)


def test_validity_ends_exactly_at_quiet_start() -> None:
    assert validity_seconds(chicago(2024, 6, 3, 19, 0), CHI) == 7200
    assert validity_seconds(chicago(2024, 6, 3, 20, 59, 0), CHI) == 60


def test_too_close_to_quiet_hours_counts_as_quiet() -> None:
    now = chicago(2024, 6, 3, 20, 59, 30)
    assert not is_quiet(now, CHI)
    assert validity_seconds(now, CHI) == 0
    assert next_allowed_send(now, CHI) == chicago(2024, 6, 4, 8, 0)
    assert next_allowed_send(now, CHI, min_validity=0) == now


def test_validity_is_capped_by_twilio_maximum() -> None:
    assert validity_seconds(chicago(2024, 6, 3, 8, 0), CHI, max_validity=36000) == 36000
    assert validity_seconds(chicago(2024, 6, 3, 12, 0), CHI, max_validity=36000) == 9 * 3600


def test_result_is_utc_for_any_aware_input() -> None:
    now = datetime(2024, 6, 3, 23, 0, tzinfo=ZoneInfo("America/New_York"))  # 22:00 in Chicago
    result = next_allowed_send(now, CHI)
    assert result.utcoffset() == timedelta(0)
    assert result == chicago(2024, 6, 4, 8, 0)


# --- configurable windows -------------------------------------------------------------


def test_window_within_one_day() -> None:
    start, end = time(12, 0), time(13, 30)
    assert next_allowed_send(chicago(2024, 6, 3, 12, 45), CHI, start, end) == chicago(2024, 6, 3, 13, 30)
    assert validity_seconds(chicago(2024, 6, 3, 11, 0), CHI, start, end) == 3600
    assert not is_quiet(chicago(2024, 6, 3, 23, 0), CHI, start, end)
    assert validity_seconds(chicago(2024, 6, 3, 23, 0), CHI, start, end) == 14400


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    now = chicago(2024, 6, 3, 23, 0)
    assert not is_quiet(now, CHI, time(9), time(9))
    assert next_allowed_send(now, CHI, time(9), time(9)) == now
    assert validity_seconds(now, CHI, time(9), time(9), max_validity=36000) == 36000


def test_zone_matters() -> None:
    now = utc(2024, 6, 4, 2, 30)  # 22:30 in New York, 19:30 in Los Angeles
    assert is_quiet(now, "America/New_York")
    assert not is_quiet(now, "America/Los_Angeles")
    assert validity_seconds(now, "America/Los_Angeles") == 5400


# --- DST --------------------------------------------------------------------------------


def test_spring_forward_night_opens_at_local_eight() -> None:
    now = chicago(2024, 3, 9, 22, 0)  # CST, UTC-6
    opening = next_allowed_send(now, CHI)
    assert opening == utc(2024, 3, 10, 13, 0)  # 08:00 CDT, UTC-5
    assert opening - now == timedelta(hours=9)  # the night is an hour short


def test_fall_back_night_opens_at_local_eight() -> None:
    now = chicago(2024, 11, 2, 22, 0)  # CDT
    opening = next_allowed_send(now, CHI)
    assert opening == utc(2024, 11, 3, 14, 0)  # 08:00 CST
    assert opening - now == timedelta(hours=11)


def test_validity_across_spring_forward_counts_real_seconds() -> None:
    now = chicago(2024, 3, 10, 0, 30)
    # Quiet from 03:00: only 1.5 real hours away, not 2.5.
    assert validity_seconds(now, CHI, time(3, 0), time(5, 0)) == 5400


def test_quiet_start_skipped_by_spring_forward_begins_at_the_jump() -> None:
    start, end = time(2, 30), time(5, 0)
    now = chicago(2024, 3, 10, 1, 0)
    assert validity_seconds(now, CHI, start, end) == 3600  # until 03:00 CDT
    assert not is_quiet(utc(2024, 3, 10, 7, 59, 59), CHI, start, end)
    assert is_quiet(utc(2024, 3, 10, 8, 0), CHI, start, end)


def test_repeated_quiet_start_on_fall_back_uses_first_occurrence() -> None:
    start, end = time(1, 30), time(5, 0)
    now = chicago(2024, 11, 3, 0, 0)
    assert validity_seconds(now, CHI, start, end) == 5400  # until the first 01:30 (CDT)
    assert is_quiet(chicago(2024, 11, 3, 1, 45), CHI, start, end)
    assert is_quiet(chicago(2024, 11, 3, 1, 15, fold=1), CHI, start, end)  # second pass, CST


def test_repeated_quiet_end_on_fall_back_ends_at_first_occurrence() -> None:
    start, end = time(21, 0), time(1, 30)
    assert next_allowed_send(chicago(2024, 11, 3, 0, 30), CHI, start, end) == chicago(2024, 11, 3, 1, 30)
    # When the clock repeats 01:00-02:00, quiet hours are already over.
    assert not is_quiet(chicago(2024, 11, 3, 1, 15, fold=1), CHI, start, end)


@pytest.mark.parametrize(
    "day",
    [datetime(2024, 3, 9), datetime(2024, 11, 2), datetime(2024, 6, 3)],
    ids=["spring-forward", "fall-back", "summer"],
)
@pytest.mark.parametrize("window", [(time(21), time(8)), (time(2, 30), time(6)), (time(1, 30), time(3))])
def test_validity_never_reaches_into_quiet_hours(day: datetime, window: tuple[time, time]) -> None:
    start, end = window
    now = chicago(day.year, day.month, day.day, 0, 0)
    stop = now + timedelta(hours=48)
    while now < stop:
        seconds = validity_seconds(now, CHI, start, end)
        if seconds == 0:
            allowed = next_allowed_send(now, CHI, start, end)
            assert allowed > now
            assert not is_quiet(allowed, CHI, start, end)
            assert validity_seconds(allowed, CHI, start, end) >= 60
        else:
            assert 60 <= seconds <= 14400
            assert next_allowed_send(now, CHI, start, end) == now
            for offset in range(0, seconds, 600):
                assert not is_quiet(now + timedelta(seconds=offset), CHI, start, end)
            assert not is_quiet(now + timedelta(seconds=seconds - 1), CHI, start, end)
        now += timedelta(minutes=17)


# --- errors -------------------------------------------------------------------------------


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_allowed_send(datetime(2024, 6, 3, 12), CHI)
    with pytest.raises(ValueError, match="aware"):
        validity_seconds(datetime(2024, 6, 3, 12), CHI)


def test_unknown_zone_is_rejected() -> None:
    with pytest.raises(ZoneInfoNotFoundError):
        is_quiet(utc(2024, 6, 3), "Mars/Olympus_Mons")


@pytest.mark.parametrize("max_validity", [36001, 59])
def test_out_of_range_max_validity_is_rejected(max_validity: int) -> None:
    with pytest.raises(ValueError):
        validity_seconds(utc(2024, 6, 3), CHI, max_validity=max_validity)


# --- time zone of a number -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+13125550100", "America/Chicago"),
        ("+12125550100", "America/New_York"),
        ("+442071234567", "Europe/London"),
        ("+18005550100", "America/Denver"),  # toll-free spans zones: default
        ("+79161234567", "America/Denver"),  # several zones: default
        ("not a number", "America/Denver"),
    ],
)
def test_timezone_for_number(number: str, expected: str) -> None:
    assert timezone_for_number(number, "America/Denver") == expected
