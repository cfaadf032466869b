"""Texting in charts: a mobilization's sent / delivered / failed / replied / opted-out over time
and by hour of the day, and the monthly volume and delivery rate on /sms/. The series are
checked against counts taken straight from the rows, and their totals against the results
the mobilization page shows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.sms import charts, mobilizations
from organizer.sms.models import (
    Conversation,
    InboundMessage,
    MessageKind,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
)

pytestmark = pytest.mark.usefixtures("org")

CHICAGO = ZoneInfo("America/Chicago")
_numbers = count(1)


def _phone() -> str:
    return f"+1312556{next(_numbers):04d}"


def _mobilization(app, creator, launched_at: datetime, texts, *, kind=MobilizationKind.BROADCAST) -> int:
    """A launched mobilization by ``creator`` with one outbox row per ``texts`` entry:
    ``(status, sent_at, delivered_or_failed_at)``. Returns its id."""
    with app.app_context():
        m = Mobilization(title="Hearing turnout", kind=kind, status=MobilizationStatus.DONE, body="Hearing Tuesday",
                         audience={}, created_by_id=creator.id, created_at=launched_at, launched_at=launched_at,
                         recipients=len(texts))
        db.session.add(m)
        db.session.flush()
        for status, sent_at, changed_at in texts:
            n = next(_numbers)
            db.session.add(OutboxMessage(
                mobilization_id=m.id, phone=_phone(), body="Hearing Tuesday", encoding="GSM-7", segments=1,
                kind=MessageKind.MOBILIZATION, status=status, sid=f"SMchart{n:08d}" if sent_at else None,
                attempts=1, not_before=launched_at, sent_at=sent_at, created_at=launched_at,
                delivered_at=changed_at if status is OutboxStatus.DELIVERED else None,
                updated_at=changed_at or sent_at or launched_at,
                sent_by_id=creator.id if kind is MobilizationKind.P2P else None))
        db.session.commit()
        return m.id


def _reply(app, phone: str, at: datetime, body: str = "YES", outcome: str | None = None) -> None:
    with app.app_context():
        conversation = db.session.scalar(select(Conversation).where(Conversation.phone == phone))
        if conversation is None:
            conversation = Conversation(phone=phone, last_message_at=at, created_at=at)
            db.session.add(conversation)
            db.session.flush()
        db.session.add(InboundMessage(message_sid=f"SMin{next(_numbers):08d}", conversation_id=conversation.id,
                                      from_phone=phone, body=body, keyword="other", outcome=outcome, received_at=at))
        db.session.commit()


def _phones(app, mobilization_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage.phone).where(
            OutboxMessage.mobilization_id == mobilization_id).order_by(OutboxMessage.id)))


def _rows(app, mobilization_id: int):
    with app.app_context():
        return db.session.scalars(select(OutboxMessage).where(OutboxMessage.mobilization_id == mobilization_id)).all()


def _first_replies(app, mobilization_id: int, launched_at: datetime, *, stop: bool = False) -> dict[str, datetime]:
    """Each texted number's first reply (or STOP) after the launch, read row by row."""
    texted = {r.phone for r in _rows(app, mobilization_id) if r.sid}
    first: dict[str, datetime] = {}
    with app.app_context():
        for message in db.session.scalars(select(InboundMessage)):
            if message.from_phone in texted and message.received_at >= launched_at and (
                    not stop or message.outcome == "opted_out"):
                first[message.from_phone] = min(first.get(message.from_phone, message.received_at),
                                                message.received_at)
    return first


def _afternoon_send(app, user) -> tuple[int, datetime]:
    """A send on a March afternoon (Chicago, UTC-5): texts over two and a half hours, replies
    trickling in, a number replying twice, one STOP, one reply from before the launch."""
    launched = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    texts = []
    for i in range(12):
        sent = launched + timedelta(minutes=13 * i)
        status = [OutboxStatus.DELIVERED, OutboxStatus.DELIVERED, OutboxStatus.FAILED, OutboxStatus.UNDELIVERED,
                  OutboxStatus.SENT][i % 5]
        texts.append((status, sent, sent + timedelta(minutes=2) if status is not OutboxStatus.SENT else None))
    texts.append((OutboxStatus.FAILED, None, launched + timedelta(minutes=1)))  # failed before Twilio took it
    texts.append((OutboxStatus.CANCELED, None, launched + timedelta(minutes=5)))
    m_id = _mobilization(app, user, launched, texts)
    phones = _phones(app, m_id)
    _reply(app, phones[0], launched - timedelta(days=2), "old news")  # before the launch: not counted
    _reply(app, phones[0], launched + timedelta(minutes=40))
    _reply(app, phones[0], launched + timedelta(hours=3), "see you")  # a second reply: counted once
    _reply(app, phones[1], launched + timedelta(hours=1, minutes=5), "Is there childcare?")
    _reply(app, phones[6], launched + timedelta(hours=4), "STOP", outcome="opted_out")
    _reply(app, "+13125559999", launched + timedelta(minutes=30), "wrong number")  # never texted
    return m_id, launched


def test_timeline_follows_the_rows_and_totals_the_results(app, make_user):
    staff = make_user()
    m_id, launched = _afternoon_send(app, staff)
    rows = _rows(app, m_id)
    replies = _first_replies(app, m_id, launched)
    stops = _first_replies(app, m_id, launched, stop=True)
    with app.app_context():
        mobilization = db.session.get(Mobilization, m_id)
        timeline = charts.mobilization_timeline(mobilization, CHICAGO)
        results = mobilizations.progress(mobilization)

    assert timeline.unit == "hour"
    # Every bucket starts on a local hour, one hour after the previous one, with no gap.
    assert all(s.minute == 0 and s.tzinfo == CHICAGO for s in timeline.starts)
    assert all(b - a == timedelta(hours=1) for a, b in zip(timeline.starts, timeline.starts[1:], strict=False))

    def by_bucket(moments):
        return Counter(m.astimezone(CHICAGO).replace(minute=0, second=0, microsecond=0) for m in moments)

    expected = {
        "sent": by_bucket(r.sent_at for r in rows if r.sid),
        "delivered": by_bucket(r.delivered_at for r in rows if r.status is OutboxStatus.DELIVERED),
        "failed": by_bucket(r.updated_at for r in rows if r.status in (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED)),
        "replied": by_bucket(replies.values()),
        "opted_out": by_bucket(stops.values()),
    }
    for series, counter in expected.items():
        drawn = {start: n for start, n in zip(timeline.starts, timeline.counts[series], strict=True) if n}
        assert drawn == dict(counter), series
    assert timeline.totals == {"sent": results.sent, "delivered": results.delivered, "failed": results.failed,
                               "replied": results.replied, "opted_out": results.opted_out_after}
    assert results.replied == 3 and results.opted_out_after == 1  # a STOP is a reply too

    delivered_hours = Counter(r.delivered_at.astimezone(CHICAGO).hour for r in rows
                              if r.status is OutboxStatus.DELIVERED)
    reply_hours = Counter(at.astimezone(CHICAGO).hour for at in replies.values())
    assert timeline.by_hour["delivered"] == [delivered_hours[h] for h in range(24)]
    assert timeline.by_hour["replied"] == [reply_hours[h] for h in range(24)]


def test_a_long_tail_of_replies_is_drawn_by_day_in_the_federations_days(app, make_user):
    staff = make_user()
    # 23:30 in Chicago on March 9 is already March 10 in UTC: the text belongs to the 9th.
    launched = datetime(2026, 3, 10, 4, 30, tzinfo=UTC)
    m_id = _mobilization(app, staff, launched, [(OutboxStatus.DELIVERED, launched, launched + timedelta(minutes=1))])
    _reply(app, _phones(app, m_id)[0], launched + timedelta(days=6))
    with app.app_context():
        timeline = charts.mobilization_timeline(db.session.get(Mobilization, m_id), CHICAGO)
    assert timeline.unit == "day"
    days = [s.date() for s in timeline.starts]
    assert days[0] == datetime(2026, 3, 9).date() and len(days) == 7
    assert all((b - a).days == 1 for a, b in zip(days, days[1:], strict=False))
    assert timeline.counts["sent"][0] == 1 and timeline.counts["replied"][-1] == 1
    assert [start for start, _ in timeline.rows] == [timeline.starts[0], timeline.starts[-1]]


def test_the_hour_repeated_when_clocks_go_back_is_two_buckets(app, make_user):
    staff = make_user()
    # November 1, 2026: 1:00 to 2:00 happens twice in Chicago (CDT, then CST).
    first, second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC), datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    m_id = _mobilization(app, staff, first, [(OutboxStatus.SENT, first, None), (OutboxStatus.SENT, second, None)])
    with app.app_context():
        timeline = charts.mobilization_timeline(db.session.get(Mobilization, m_id), CHICAGO)
    assert [s.hour for s in timeline.starts] == [1, 1]
    assert [s.utcoffset() for s in timeline.starts] == [timedelta(hours=-5), timedelta(hours=-6)]
    assert timeline.counts["sent"] == [1, 1]


def test_a_draft_has_no_timeline(app, make_user):
    staff = make_user()
    with app.app_context():
        draft = Mobilization(title="Draft", body="Hi", audience={}, created_by_id=staff.id)
        db.session.add(draft)
        db.session.commit()
        assert charts.mobilization_timeline(draft, CHICAGO).starts == []


def _monthly_expected(app, user_filter, now: datetime) -> dict[str, tuple[int, int, int]]:
    """Per local month (YYYY-MM) of sending: sent, delivered, and texts with a delivery report,
    read row by row."""
    result: dict[str, list[int]] = {}
    with app.app_context():
        for row in db.session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_not(None))):
            if not user_filter(row):
                continue
            month = row.sent_at.astimezone(CHICAGO).strftime("%Y-%m")
            line = result.setdefault(month, [0, 0, 0])
            line[0] += 1
            line[1] += row.status is OutboxStatus.DELIVERED
            line[2] += row.status in (OutboxStatus.DELIVERED, OutboxStatus.UNDELIVERED, OutboxStatus.FAILED)
    return {k: tuple(v) for k, v in result.items()}


def test_monthly_texts_count_each_local_month_from_the_rows(app, make_user):
    staff = make_user()
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    # 21:00 on February 28 in Chicago is March 1 in UTC: it is a February text.
    _mobilization(app, staff, datetime(2026, 3, 1, 3, 0, tzinfo=UTC), [
        (OutboxStatus.DELIVERED, datetime(2026, 3, 1, 3, 0, tzinfo=UTC), datetime(2026, 3, 1, 3, 1, tzinfo=UTC)),
        (OutboxStatus.FAILED, datetime(2026, 3, 1, 3, 0, 5, tzinfo=UTC), datetime(2026, 3, 1, 3, 2, tzinfo=UTC))])
    _mobilization(app, staff, datetime(2026, 3, 5, 15, 0, tzinfo=UTC), [
        (OutboxStatus.DELIVERED, datetime(2026, 3, 5, 15, 0, tzinfo=UTC), datetime(2026, 3, 5, 15, 1, tzinfo=UTC)),
        (OutboxStatus.SENT, datetime(2026, 3, 5, 15, 0, 4, tzinfo=UTC), None),  # no report: not in the rate
        (OutboxStatus.CANCELED, None, datetime(2026, 3, 5, 15, 3, tzinfo=UTC))])  # never sent
    _mobilization(app, staff, datetime(2025, 1, 5, 15, 0, tzinfo=UTC), [  # older than a year: left out
        (OutboxStatus.DELIVERED, datetime(2025, 1, 5, 15, 0, tzinfo=UTC), datetime(2025, 1, 5, 15, 1, tzinfo=UTC))])
    with app.app_context():
        months = charts.monthly_texts(db.session.get(User, staff.id), CHICAGO, now)

    assert [m.start.strftime("%Y-%m") for m in months][0] == "2025-04"
    assert [m.start.strftime("%Y-%m") for m in months][-1] == "2026-03" and len(months) == 12
    window = {m.start.strftime("%Y-%m") for m in months}
    expected = {k: v for k, v in _monthly_expected(app, lambda row: True, now).items() if k in window}
    drawn = {m.start.strftime("%Y-%m"): (m.sent, m.delivered, m.reported) for m in months if m.sent}
    assert drawn == expected
    february, march = months[-2], months[-1]
    assert (february.sent, february.rate) == (2, 0.5)
    assert (march.sent, march.rate) == (2, 1.0)
    assert months[0].rate is None  # nothing reported: no rate, not 0%


def test_a_leader_counts_only_their_own_texts(app, make_user):
    staff, leader, other = make_user(), make_user("leader"), make_user("leader")
    now = utcnow()
    sent = now - timedelta(days=1)
    own = _mobilization(app, leader, sent, [(OutboxStatus.DELIVERED, sent, sent), (OutboxStatus.FAILED, sent, sent)],
                        kind=MobilizationKind.P2P)
    _mobilization(app, other, sent, [(OutboxStatus.DELIVERED, sent, sent)] * 3, kind=MobilizationKind.P2P)
    _mobilization(app, staff, sent, [(OutboxStatus.DELIVERED, sent, sent)] * 5)
    with app.app_context():  # a thread reply is not a mobilization's text: /sms/ lists mobilizations
        db.session.add(OutboxMessage(phone=_phone(), body="Thanks!", encoding="GSM-7", segments=1,
                                     kind=MessageKind.REPLY, status=OutboxStatus.DELIVERED, sid="SMleaderreply",
                                     sent_at=sent, delivered_at=sent, sent_by_id=leader.id, updated_at=sent))
        db.session.commit()
        leader_user, staff_user = db.session.get(User, leader.id), db.session.get(User, staff.id)
        own_ids = {own}
        mine = charts.monthly_texts(leader_user, CHICAGO, now)
        everyone = charts.monthly_texts(staff_user, CHICAGO, now)

    expected = _monthly_expected(app, lambda row: row.mobilization_id in own_ids, now)
    assert {m.start.strftime("%Y-%m"): (m.sent, m.delivered, m.reported) for m in mine if m.sent} == expected
    assert sum(m.sent for m in mine) == 2
    assert sum(m.sent for m in everyone) == 11  # staff: every text, the leader's reply included


def test_pages_show_the_charts_with_their_tables(app, make_user, login_as):
    staff, leader = make_user(), make_user("leader")
    m_id, _launched = _afternoon_send(app, staff)
    client = login_as(staff).client
    page = client.get(f"/sms/{m_id}").get_data(as_text=True)
    assert 'data-testid="timeline-chart"' in page and 'data-testid="by-hour-chart"' in page
    assert 'data-testid="timeline-table"' in page and "chart.umd.min.js" in page
    with app.app_context():
        results = mobilizations.progress(db.session.get(Mobilization, m_id))
    # The table's totals are the results shown above it.
    for key, value in {"sent": results.sent, "delivered": results.delivered, "failed": results.failed,
                       "replied": results.replied, "opted_out": results.opted_out_after}.items():
        assert f'data-total="{key}">{value}<' in page
        assert f'data-count="{key}">{value}<' in page
    index = client.get("/sms/").get_data(as_text=True)
    assert 'data-testid="monthly-chart"' in index and 'data-testid="monthly-table"' in index

    leader_client = login_as(leader).client
    assert leader_client.get(f"/sms/{m_id}").status_code == 404
    leader_index = leader_client.get("/sms/").get_data(as_text=True)
    assert 'data-testid="monthly-table"' in leader_index
    assert "data-sent>0<" in leader_index and "data-sent>1" not in leader_index


def test_text_pages_use_a_fixed_number_of_queries(app, make_user, login_as, count_queries):
    staff = make_user()
    client = login_as(staff).client
    launched = utcnow() - timedelta(hours=6)

    def grow(n):
        texts = [(OutboxStatus.DELIVERED if i % 3 else OutboxStatus.FAILED, launched + timedelta(minutes=7 * i),
                  launched + timedelta(minutes=7 * i + 1)) for i in range(n)]
        m_id = _mobilization(app, staff, launched, texts)
        for i, phone in enumerate(_phones(app, m_id)):
            _reply(app, phone, launched + timedelta(minutes=20 + 9 * i), "STOP" if i % 4 == 0 else "yes",
                   outcome="opted_out" if i % 4 == 0 else None)
        return m_id

    def measure(m_id):
        counts = []
        for url in (f"/sms/{m_id}", "/sms/"):
            with count_queries() as q:
                assert client.get(url).status_code == 200
            counts.append(q.count)
        return counts

    small = measure(grow(3))
    assert measure(grow(30)) == small


def test_the_charts_speak_spanish(app, make_user, login_as):
    staff = make_user(locale="es")
    m_id, _launched = _afternoon_send(app, staff)
    client = login_as(staff).client
    page = client.get(f"/sms/{m_id}").get_data(as_text=True)
    assert "Por hora del día" in page and "10 mar" in page and "Opted out" not in page
    index = client.get("/sms/").get_data(as_text=True)
    assert "Textos por mes" in index and "Tasa de entrega" in index
