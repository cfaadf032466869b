"""Texting in charts: a mobilization's texts and answers over time and by hour of the day,
and the federation's (or a leader's own) monthly volume and delivery rate.

Counting happens in the database (``GROUP BY`` on a time slot, see ``db.epoch_slot``), so each
chart costs one query whatever the number of texts; the slots are then placed in the
federation's time zone here. The totals are the mobilization page's results, counted the
same way (see ``mobilizations.progress``):

- sent: texts Twilio accepted (a SID), at ``sent_at``;
- delivered: at ``delivered_at``, the delivery report;
- failed (failed or undelivered): no column keeps the moment of failure, so the row's last
  change stands in for it (``updated_at``: a failed text changes no more, and billing reports
  leave that column alone);
- replied and opted out: each number once, at its first reply (or STOP) after the launch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal_column, select, union_all

from organizer.auth.models import User
from organizer.db import epoch_slot
from organizer.extensions import db
from organizer.sms.models import InboundMessage, Mobilization, OutboxMessage, OutboxStatus

#: Every time zone's offset is a whole number of quarter hours: slots this long fall inside
#: one local hour wherever the federation is.
SLOT_SECONDS = 900
SERIES = ("sent", "delivered", "failed", "replied", "opted_out")
#: Spans up to this long are drawn hour by hour, up to ``DAILY_SPAN`` day by day, longer by month.
HOURLY_SPAN = timedelta(hours=48)
DAILY_SPAN = timedelta(days=92)
MONTHS = 12


@dataclass
class Timeline:
    """A mobilization's events in buckets of ``unit`` ("hour", "day" or "month").

    ``starts``: each bucket's start (aware, in the federation's zone), with no gap between the
    first event and the last. ``counts[series]``: one number per bucket. ``by_hour[series]``:
    24 numbers, by local hour of the day, for "delivered" and "replied".
    """

    unit: str = "hour"
    starts: list[datetime] = field(default_factory=list)
    counts: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in SERIES})
    by_hour: dict[str, list[int]] = field(default_factory=lambda: {s: [0] * 24 for s in ("delivered", "replied")})

    @property
    def totals(self) -> dict[str, int]:
        return {s: sum(values) for s, values in self.counts.items()}

    @property
    def rows(self) -> list[tuple[datetime, dict[str, int]]]:
        """The buckets where something happened, for the table beside the chart."""
        return [(start, {s: self.counts[s][i] for s in SERIES}) for i, start in enumerate(self.starts)
                if any(self.counts[s][i] for s in SERIES)]


def _event_slots(mobilization: Mobilization):
    """One query: (series number, slot, count) for the five series of ``mobilization``."""
    m_id = mobilization.id
    accepted = OutboxMessage.sid.is_not(None)
    texted = select(OutboxMessage.phone).where(OutboxMessage.mobilization_id == m_id, accepted)
    after_launch = (InboundMessage.from_phone.in_(texted), InboundMessage.received_at >= mobilization.launched_at)
    first_reply = (select(InboundMessage.from_phone, func.min(InboundMessage.received_at).label("at"))
                   .where(*after_launch).group_by(InboundMessage.from_phone).subquery())
    first_stop = (select(InboundMessage.from_phone, func.min(InboundMessage.received_at).label("at"))
                  .where(*after_launch, InboundMessage.outcome == "opted_out")
                  .group_by(InboundMessage.from_phone).subquery())

    def series(number: int, moment, *where):
        # A literal column, not a bound parameter: PostgreSQL types it in the UNION.
        return select(literal_column(str(number)).label("series"), epoch_slot(moment, SLOT_SECONDS).label("slot")) \
            .where(*where)

    of_mobilization = OutboxMessage.mobilization_id == m_id
    events = union_all(
        series(0, func.coalesce(OutboxMessage.sent_at, OutboxMessage.updated_at), of_mobilization, accepted),
        series(1, func.coalesce(OutboxMessage.delivered_at, OutboxMessage.updated_at), of_mobilization,
               OutboxMessage.status == OutboxStatus.DELIVERED),
        series(2, OutboxMessage.updated_at, of_mobilization,
               OutboxMessage.status.in_((OutboxStatus.FAILED, OutboxStatus.UNDELIVERED))),
        series(3, first_reply.c.at).select_from(first_reply),
        series(4, first_stop.c.at).select_from(first_stop),
    ).subquery()
    return db.session.execute(
        select(events.c.series, events.c.slot, func.count()).group_by(events.c.series, events.c.slot)
    ).all()


def mobilization_timeline(mobilization: Mobilization, zone: ZoneInfo) -> Timeline:
    """Sent, delivered, failed, replied and opted out over time (by hour for a send of a day
    or two, by day or month for longer), and delivered and replied by local hour of the day.
    Empty before launch. One query. Raises nothing."""
    timeline = Timeline()
    if mobilization.launched_at is None:
        return timeline
    events = [(SERIES[int(series)], _slot_time(slot), n) for series, slot, n in _event_slots(mobilization)]
    if not events:
        return timeline
    first = min(at for _, at, _ in events)
    last = max(at for _, at, _ in events)
    span = last - first
    timeline.unit = "hour" if span <= HOURLY_SPAN else "day" if span <= DAILY_SPAN else "month"
    keys = list(_bucket_keys(_floor(first, zone, timeline.unit), _floor(last, zone, timeline.unit), zone,
                             timeline.unit))
    index = {key: i for i, key in enumerate(keys)}
    timeline.starts = [key.astimezone(zone) for key in keys]
    timeline.counts = {s: [0] * len(keys) for s in SERIES}
    for name, at, n in events:
        timeline.counts[name][index[_floor(at, zone, timeline.unit)]] += n
        if name in timeline.by_hour:
            timeline.by_hour[name][at.astimezone(zone).hour] += n
    return timeline


def _slot_time(slot: int) -> datetime:
    return datetime.fromtimestamp(int(slot) * SLOT_SECONDS, UTC)


def _floor(moment: datetime, zone: ZoneInfo, unit: str) -> datetime:
    """The start (in UTC) of the local hour, day or month ``moment`` falls in."""
    local = moment.astimezone(zone)
    if unit == "hour":
        # Keep ``fold``: the hour repeated when clocks go back is two buckets, not one.
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date() if unit == "day" else local.date().replace(day=1)
    return _local_midnight(day, zone)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _bucket_keys(first: datetime, last: datetime, zone: ZoneInfo, unit: str) -> Iterable[datetime]:
    key = first
    while key <= last:
        yield key
        if unit == "hour":
            key = _floor(key + timedelta(hours=1), zone, unit)
        else:
            local = key.astimezone(zone).date()
            following = local + timedelta(days=1) if unit == "day" else _next_month(local)
            key = _local_midnight(following, zone)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@dataclass
class Month:
    """Texts sent in a month (``start``: its first day, local), and how many of them got a
    delivery report either way: ``rate`` is delivered over those (``None`` without any)."""

    start: datetime
    sent: int = 0
    delivered: int = 0
    reported: int = 0

    @property
    def rate(self) -> float | None:
        return self.delivered / self.reported if self.reported else None


def monthly_texts(user: User, zone: ZoneInfo, now: datetime, months: int = MONTHS) -> list[Month]:
    """Texts Twilio accepted (``sent_at`` set) in each of the last ``months`` months, this one
    included, by the month they went out in the federation's zone, with their delivery rate.

    Staff count every text (mobilizations, replies, reminders, confirmations); a leader counts
    the texts of their own mobilizations only, as ``/sms/`` lists only those. One query.
    Raises nothing.
    """
    this_month = now.astimezone(zone).date().replace(day=1)
    days = [this_month]
    for _ in range(months - 1):
        days.insert(0, (days[0] - timedelta(days=1)).replace(day=1))
    # Month bounds are instants computed here, so the zone and DST are settled in Python and the
    # SQL is the same plain range comparison on both databases.
    edges = [_local_midnight(d, zone) for d in [*days, _next_month(this_month)]]
    result = [Month(start=datetime.combine(d, time(0), tzinfo=zone)) for d in days]
    if user.is_staff:
        rows = _monthly_counts_all(edges)
    else:
        rows = _monthly_counts_own(edges, user)
    for i, status, n in rows:
        line, status = result[int(i)], OutboxStatus(status)
        line.sent += n
        if status is OutboxStatus.DELIVERED:
            line.delivered += n
        if status in (OutboxStatus.DELIVERED, OutboxStatus.UNDELIVERED, OutboxStatus.FAILED):
            line.reported += n
    return result


def _monthly_counts_all(edges: list[datetime]):
    """(month index, status, texts) for every text: a count per month and status read from the
    (status, sent_at) index alone, one range per month (``UNION ALL``), no table rows and no sort."""
    every_status = list(OutboxStatus)
    parts = [
        select(literal_column(str(i)).label("month"), OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_(every_status), OutboxMessage.sent_at >= start, OutboxMessage.sent_at < end)
        .group_by(OutboxMessage.status)
        for i, (start, end) in enumerate(zip(edges, edges[1:], strict=False))
    ]
    return db.session.execute(union_all(*parts)).all()


def _monthly_counts_own(edges: list[datetime], user: User):
    """(month index, status, texts) for the texts of ``user``'s mobilizations: found through the
    outbox's mobilization index (a leader's texts are few), each placed in its month by the last
    bound it passed. Grouped outside, where the expression has no parameters."""
    own = select(Mobilization.id).where(Mobilization.created_by_id == user.id)
    sent_at = OutboxMessage.sent_at
    month = case(*[(sent_at < edge, i) for i, edge in enumerate(edges[1:-1])], else_=len(edges) - 2)
    rows = (select(month.label("month"), OutboxMessage.status.label("status"))
            .where(OutboxMessage.mobilization_id.in_(own), sent_at >= edges[0], sent_at < edges[-1]).subquery())
    return db.session.execute(
        select(rows.c.month, rows.c.status, func.count()).group_by(rows.c.month, rows.c.status)).all()


# --- what the pages draw (Chart.js configurations, in the reader's language) ---------------


def series_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {"sent": _("Sent"), "delivered": _("Delivered"), "failed": _("Failed"), "replied": _("Replied"),
            "opted_out": _("Opted out")}


def bucket_label(start: datetime, unit: str) -> str:
    """A bucket's start as the reader says it: "Nov 3 2:00 PM", "Nov 3" or "Nov 2026"."""
    from babel.dates import format_skeleton, format_time
    from flask_babel import get_locale

    locale = get_locale() or "en"
    if unit == "month":
        return format_skeleton("yMMM", start, tzinfo=start.tzinfo, locale=locale)
    day = format_skeleton("MMMd", start, tzinfo=start.tzinfo, locale=locale)
    if unit == "day":
        return day
    return f"{day} {format_time(start, 'short', tzinfo=start.tzinfo, locale=locale)}"


def hour_label(hour: int) -> str:
    """An hour of the day as the reader says it: "2:00 PM" or "14:00"."""
    from babel.dates import format_time
    from flask_babel import get_locale

    return format_time(time(hour), "short", locale=get_locale() or "en")


def timeline_chart(timeline: Timeline) -> dict:
    """The over-time chart: a bar per series and bucket."""
    names = series_labels()
    return {"type": "bar", "data": {
        "labels": [bucket_label(start, timeline.unit) for start in timeline.starts],
        "datasets": [{"label": names[s], "data": timeline.counts[s]} for s in SERIES],
    }, "options": {"scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0}}}}}


def by_hour_chart(timeline: Timeline) -> dict:
    """Deliveries and first replies by hour of the day."""
    names = series_labels()
    return {"type": "bar", "data": {
        "labels": [hour_label(h) for h in range(24)],
        "datasets": [{"label": names[s], "data": timeline.by_hour[s]} for s in ("delivered", "replied")],
    }, "options": {"scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0}}}}}


def monthly_chart(months: list[Month]) -> dict:
    """Texts sent (bars, left axis) and delivery rate in percent (line, right axis) by month."""
    from flask_babel import gettext as _

    return {"type": "bar", "data": {
        "labels": [bucket_label(m.start, "month") for m in months],
        "datasets": [
            {"type": "bar", "label": _("Texts sent"), "data": [m.sent for m in months], "yAxisID": "y"},
            {"type": "line", "label": _("Delivery rate (%)"), "yAxisID": "rate", "spanGaps": False,
             "data": [None if m.rate is None else round(100 * m.rate, 1) for m in months]},
        ],
    }, "options": {"scales": {
        "y": {"beginAtZero": True, "ticks": {"precision": 0}, "position": "left"},
        "rate": {"min": 0, "max": 100, "position": "right", "grid": {"drawOnChartArea": False}},
    }}}
