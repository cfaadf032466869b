"""The sending pipeline, run by the worker: claim an outbox row, pace, re-check it may
still go, call the provider, record the answer. And the sweep that repairs what a lost
worker left behind.

Guarantees, and what gives them:

* **Never twice.** A row is claimed with one conditional UPDATE (``queued`` → ``sending``
  where it is still ``queued`` and has no SID; on PostgreSQL the candidate row is picked
  ``FOR UPDATE SKIP LOCKED``), committed before the provider is called. A row with a SID
  is never sent again. A row whose send ended ambiguously (read timeout, 5xx, a worker
  killed mid-send) stays ``sending`` until :func:`reconcile_stale` settles it from the
  provider's own list of messages to that number, or a status callback carrying our
  outbox id does.
* **Nothing lost.** The row is the source of truth, not the queue: :func:`sweep` (every
  minute, at worker start, and ``flask sms sweep``) restarts senders for mobilizations
  whose worker vanished and requeues rows whose send provably never reached the provider
  (claimed longer ago than any request can last, and absent from the provider's list).
  Rows whose fate cannot be established become ``unknown``, for a person to decide.
* **Just-in-time checks.** After claiming, right before the call: the mobilization is
  still sending, the number has not opted out or been flagged, and it is not quiet hours
  in the recipient's zone (both the federation's zone and the area code's, when they
  differ: the stricter wins). ``ValidityPeriod`` ends before quiet hours begin.
* **Pace.** Every worker reserves a slot on the sender's shared clock
  (``sms_sender_pace``) before sending: ``SMS_SEGMENTS_PER_SECOND`` segments per second
  per sender. Unset, it is 1 for a single long code (``TWILIO_FROM_NUMBER``: Twilio
  dequeues a long code at about one segment a second) and 10 for a Messaging Service
  (a pool of numbers, usually with registered 10DLC or toll-free throughput above that).
  Pacing here rather than in Twilio's queue keeps unsent texts in our outbox, where a
  cancel or a STOP still stops them.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, bindparam, case, exists, func, literal, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import joinedload

from organizer.db import read_only, utcnow
from organizer.extensions import db
from organizer.people.models import Person, SmsConsent
from organizer.settings.services import get_organization
from organizer.sms import consent, local_time, mobilizations
from organizer.sms.error_codes import PAUSE_NOW_CODES, PAUSE_REPEATED_CODES, Action, rule_for
from organizer.sms.models import (
    MessageKind,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
    PhoneFlag,
    PhoneOptOut,
    SenderPace,
    StatusEvent,
)
from organizer.sms.providers import (
    InvalidNumberError,
    OptedOutError,
    PermanentSendError,
    RetryableSendError,
    SendError,
    SendRequest,
    SmsBackend,
    error_for,
    make_backend,
)

log = logging.getLogger(__name__)

#: Texts that answer the person's own text right away: exempt from quiet hours.
IMMEDIATE_KINDS = frozenset({MessageKind.AUTO_REPLY, MessageKind.OPT_OUT_CONFIRMATION, MessageKind.TEST})
#: Codes that, repeated, pause a mobilization: carrier filtering, rate limits and a full
#: sender queue. Codes that pause at the first hit (an unverified or unregistered sender, a
#: suspended account) are ``PAUSE_NOW_CODES``; both come from ``error_codes.RULES``.
PAUSE_CODES = PAUSE_REPEATED_CODES
PAUSE_WINDOW = timedelta(minutes=10)
RATE_LIMIT_CODES = frozenset({20429, 21611, 429})
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 600.0
RECONCILE_MARGIN = timedelta(seconds=60)
#: Unpaced, how much a 429 without Retry-After delays the sender's next text.
RATE_LIMIT_PENALTY_SECONDS = 0.2
#: Paced, how many of the refused text's slots a 429 without Retry-After adds to the
#: sender's clock: half, so a sustained share of 429s eases the pace by half that share
#: (10% refused: 5% slower, 86% of the pace accepted) rather than by all of it (82%, too
#: close to the 80% a mobilization must keep).
RATE_LIMIT_BACKOFF_SLOTS = 0.5
#: Longest a rate limit holds a sender (well under SMS_SENDING_STALE_SECONDS, so a row
#: claimed while waiting is never taken for an interrupted send).
MAX_HOLD_SECONDS = 60.0

_TWILIO_STATUS = {
    "accepted": OutboxStatus.SENDING, "scheduled": OutboxStatus.SENDING, "queued": OutboxStatus.SENDING,
    "sending": OutboxStatus.SENDING, "sent": OutboxStatus.SENT, "delivered": OutboxStatus.DELIVERED,
    "read": OutboxStatus.DELIVERED, "undelivered": OutboxStatus.UNDELIVERED, "failed": OutboxStatus.FAILED,
    "canceled": OutboxStatus.CANCELED,
}  # fmt: skip
# What a new status may overwrite: statuses only move forward, so a late "sent"
# never replaces "delivered".
_MAY_REPLACE = {
    OutboxStatus.SENDING: (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.UNKNOWN),
    OutboxStatus.SENT: (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.UNKNOWN),
    OutboxStatus.DELIVERED: (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.SENT, OutboxStatus.UNKNOWN),
    OutboxStatus.UNDELIVERED: (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.SENT, OutboxStatus.UNKNOWN),
    OutboxStatus.FAILED: (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.SENT, OutboxStatus.UNKNOWN),
    OutboxStatus.CANCELED: (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.UNKNOWN),
}


def map_status(provider_status: str) -> OutboxStatus:
    """Our status for one of Twilio's message statuses (unknown words count as in flight)."""
    return _TWILIO_STATUS.get((provider_status or "").lower(), OutboxStatus.SENDING)


# --- configuration --------------------------------------------------------------------------


def backend(app: Flask | None = None) -> SmsBackend:
    """The app's provider backend, built once per app (connections are pooled)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("sms_backend")
    if found is None:
        found = app.extensions["sms_backend"] = make_backend(app.config)
    return found


def sender_key(config) -> str:
    return config.get("TWILIO_MESSAGING_SERVICE_SID") or config.get("TWILIO_FROM_NUMBER") or "console"


def segments_per_second(config) -> float:
    """The sender's pace (0: unpaced). See the module docstring for the defaults."""
    raw = str(config.get("SMS_SEGMENTS_PER_SECOND") or "").strip()
    if raw:
        return max(0.0, float(raw))
    if config.get("SMS_BACKEND") == "twilio" and not config.get("TWILIO_MESSAGING_SERVICE_SID"):
        return 1.0
    return 10.0


def quiet_window(config) -> tuple[dtime, dtime]:
    """``SMS_QUIET_HOURS`` ("21:00-08:00") as two times."""
    start, _, end = str(config.get("SMS_QUIET_HOURS") or "21:00-08:00").partition("-")
    return dtime.fromisoformat(start.strip()), dtime.fromisoformat(end.strip())


def recipient_zones(phone: str, org_tz: str, person: Person | None = None) -> list[str]:
    """The zones whose quiet hours a text to ``phone`` respects (``local_time``: the
    person's own zone when known, else every zone of the area code and the federation's)."""
    return local_time.candidate_zones(phone, person, org_tz)


def next_send_time(phone: str, now: datetime, config, org_tz: str, person: Person | None = None) -> datetime:
    """When a text to ``phone`` may go: ``now``, or the end of quiet hours (the federation's
    and the recipient's state's) in every candidate zone."""
    return local_time.next_send_time(local_time.windows_for(phone, person, org_tz, quiet_window(config)), now)


def validity_for(phone: str, now: datetime, config, org_tz: str, person: Person | None = None) -> int:
    """Seconds Twilio may hold a text sent now before quiet hours begin in any candidate
    zone (0: not now)."""
    cap = int(config.get("SMS_MAX_VALIDITY_SECONDS") or 14400)
    return local_time.validity_for(local_time.windows_for(phone, person, org_tz, quiet_window(config)), now, cap)


# --- claiming -------------------------------------------------------------------------------


def _due(now: datetime):
    return and_(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.sid.is_(None),
                OutboxMessage.not_before <= now)


def claim_next(mobilization_id: int | None, now: datetime) -> int | None:
    """Claim the oldest due row of a mobilization (``None``: texts outside mobilizations)
    and commit. Returns its id, or ``None`` when nothing is due."""
    claimed = claim_batch(mobilization_id, now, 1)
    return claimed[0] if claimed else None


def claim_batch(mobilization_id: int | None, now: datetime, size: int) -> list[int]:
    """Claim up to ``size`` of the oldest due rows in one statement and commit (fewer
    commits per text). A crash leaves them ``sending``; the sweep settles each one."""
    owner = (OutboxMessage.mobilization_id == mobilization_id if mobilization_id is not None
             else OutboxMessage.mobilization_id.is_(None))
    # A CTE, not "id IN (subquery)": PostgreSQL may run an IN subquery more than once per
    # statement, and a LIMIT inside it then stops being a limit.
    candidates = (
        select(OutboxMessage.id).where(owner, _due(now)).order_by(OutboxMessage.id).limit(size)
        .with_for_update(skip_locked=True).cte("due_rows")
    )
    return sorted(row_id for row_id, _, _ in _claim(OutboxMessage.id == candidates.c.id, now))


def _claim_for_loop(loop: SenderLoop, mobilization_id: int | None, now: datetime, size: int, *,
                    beat: bool = False) -> list[int] | None:
    """:func:`claim_batch` for a sender loop, in one transaction with the SIDs the loop has
    yet to write and, with ``beat``, the mobilization's heartbeat (one commit for all three:
    each commit is a turn at SQLite's single write lock). Keeps each claimed row's segments
    for the pace. ``None`` (nothing claimed) when the mobilization is no longer sending."""
    loop.write()
    if beat and mobilization_id is not None and not _heartbeat(mobilization_id, now):
        db.session.commit()
        loop.committed()
        return None
    owner = (OutboxMessage.mobilization_id == mobilization_id if mobilization_id is not None
             else OutboxMessage.mobilization_id.is_(None))
    candidates = (
        select(OutboxMessage.id).where(owner, _due(now)).order_by(OutboxMessage.id).limit(size)
        .with_for_update(skip_locked=True).cte("due_rows")
    )
    claimed = sorted(_claim(OutboxMessage.id == candidates.c.id, now))
    loop.committed()
    loop.segments = {row_id: segments for row_id, segments, _ in claimed}
    loop.attempts = {row_id: attempts for row_id, _, attempts in claimed}
    return [row_id for row_id, _, _ in claimed]


def claim_row(outbox_id: int, now: datetime) -> int | None:
    """Claim one given row if it is due; commit. Returns its id or ``None``."""
    claimed = _claim(OutboxMessage.id == outbox_id, now)
    return claimed[0][0] if claimed else None


def _claim(which, now: datetime) -> list[tuple[int, int, int]]:
    """Claim the due rows ``which`` selects and commit; (id, segments, attempts) of each."""
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(which, _due(now))
        .values(status=OutboxStatus.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1, updated_at=now)
        .returning(OutboxMessage.id, OutboxMessage.segments, OutboxMessage.attempts),
        execution_options={"synchronize_session": False},
    ).all()
    db.session.commit()
    return [(row_id, segments, attempts) for row_id, segments, attempts in claimed]


def batch_size(config) -> int:
    """Rows a sender claims at once: about two seconds of the sender's pace (1 for a slow
    long code, up to 20 unpaced), so a claimed row never waits long before its send."""
    rate = segments_per_second(config)
    return 20 if rate <= 0 else max(1, min(20, int(rate * 2)))


def _release(row: OutboxMessage, not_before: datetime, note: str | None = None, *, count_attempt: bool) -> None:
    row.status = OutboxStatus.QUEUED
    row.not_before = not_before
    if not count_attempt:
        row.attempts = max(0, row.attempts - 1)
    if note is not None:
        row.error_message = note[:255]


def reserve_slot(sender: str, segments: int, rate: float, now_ts: float | None = None) -> float:
    """Take the sender's next free slot for ``segments`` and commit; returns the seconds to
    wait before sending. Shared by every worker process through one row. Unpaced
    (``rate`` 0), only a rate-limit hold (:func:`hold_sender`) makes a sender wait."""
    now_ts = time.time() if now_ts is None else now_ts
    if rate <= 0:
        held = db.session.scalar(select(SenderPace.next_slot).where(SenderPace.sender == sender))
        return max(0.0, (held or 0.0) - now_ts)
    cost = max(segments, 1) / rate
    for _ in range(2):
        start = db.session.execute(
            update(SenderPace)
            .where(SenderPace.sender == sender)
            .values(next_slot=case((SenderPace.next_slot > now_ts, SenderPace.next_slot), else_=now_ts) + cost)
            .returning(SenderPace.next_slot),
            execution_options={"synchronize_session": False},
        ).scalar()
        if start is not None:
            db.session.commit()
            return max(0.0, start - cost - now_ts)
        try:
            with db.session.begin_nested():
                db.session.add(SenderPace(sender=sender, next_slot=0.0))
        except IntegrityError:
            pass
    db.session.commit()
    return 0.0


def hold_sender(sender: str, seconds: float, now_ts: float | None = None) -> None:
    """After a rate-limit answer no worker sends from ``sender`` for ``seconds`` (at most
    ``MAX_HOLD_SECONDS``): backing off together instead of each text retrying on its own
    while the others keep hitting the limit. Commits."""
    now_ts = time.time() if now_ts is None else now_ts
    until = now_ts + min(max(seconds, 0.0), MAX_HOLD_SECONDS)
    held = db.session.execute(
        update(SenderPace).where(SenderPace.sender == sender)
        .values(next_slot=case((SenderPace.next_slot > until, SenderPace.next_slot), else_=until)),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not held:
        try:
            with db.session.begin_nested():
                db.session.add(SenderPace(sender=sender, next_slot=until))
        except IntegrityError:
            pass
    db.session.commit()


def slow_down(sender: str, segments: int, rate: float, now_ts: float | None = None) -> None:
    """After a rate-limit answer without Retry-After: push the sender's clock back by half
    the slot the refused text used (``RATE_LIMIT_BACKOFF_SLOTS``; ``RATE_LIMIT_PENALTY_SECONDS``
    when unpaced), so the pace eases off with each 429, in proportion to how often they come,
    instead of every sender stopping for seconds. Commits."""
    penalty = RATE_LIMIT_BACKOFF_SLOTS * max(segments, 1) / rate if rate > 0 else RATE_LIMIT_PENALTY_SECONDS
    now_ts = time.time() if now_ts is None else now_ts
    db.session.execute(
        update(SenderPace).where(SenderPace.sender == sender)
        .values(next_slot=case((SenderPace.next_slot > now_ts, SenderPace.next_slot), else_=now_ts) + penalty),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


# --- sending one row ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one claimed row (for logs, tests and the dispatcher loop)."""

    status: str
    stop: bool = False  # the dispatcher should stop (paused or canceled mobilization)


def status_callback_url(config, outbox_id: int) -> str | None:
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/sms/status?outbox_id={outbox_id}" if base else None


def process(outbox_id: int, *, now_fn: Callable[[], datetime] = utcnow, sleep: Callable[[float], None] = time.sleep,
            provider: SmsBackend | None = None, org_tz: str | None = None,
            on_offer: Callable[[], None] | None = None, loop: SenderLoop | None = None) -> Outcome:
    """Send one claimed row: pace, re-check, call the provider, record. Commits.

    ``org_tz``: the federation's time zone, when the caller has read it already (each commit
    here expires the cached organization, so reading it per row costs a query per text).
    ``on_offer``: called right before the provider is (from then on the text may exist).
    ``loop``: the dispatcher's :class:`SenderLoop`; the usual case then costs one query before
    the call, and the SID waits there to be written with others' (:func:`_send_checked`).

    Raises nothing for provider failures (they are recorded on the row).
    """
    config = current_app.config
    paced = False
    if loop is not None:
        outcome = _send_checked(outbox_id, loop, now_fn=now_fn, sleep=sleep, on_offer=on_offer)
        if outcome is not None:
            return outcome
        paced = True  # something to decide (cancel, pause, opt-out, quiet hours): the full path
        provider, org_tz = provider or loop.provider, org_tz or loop.org_tz
    loaded = (joinedload(OutboxMessage.mobilization), joinedload(OutboxMessage.person))
    row = db.session.get(OutboxMessage, outbox_id, options=loaded, populate_existing=paced)
    if row is None or row.status is not OutboxStatus.SENDING or row.sid is not None:
        return Outcome("not claimed")
    if loop is not None and row.attempts != loop.attempts.get(outbox_id, row.attempts):
        return Outcome("not claimed")  # requeued by the sweep and claimed again by another sender
    wait = 0.0 if paced else reserve_slot(sender_key(config), row.segments, segments_per_second(config))
    if wait > 0:
        sleep(wait)
        # Re-read after waiting: the mobilization may have been canceled meanwhile.
        row = db.session.get(OutboxMessage, outbox_id, options=loaded, populate_existing=True)
        if row is None or row.status is not OutboxStatus.SENDING or row.sid is not None:
            return Outcome("not claimed")
    now = now_fn()

    mobilization = row.mobilization
    if mobilization is not None and row.kind is MessageKind.MOBILIZATION:
        if mobilization.status is MobilizationStatus.CANCELED:
            row.status, row.error_message = OutboxStatus.CANCELED, "mobilization canceled"
            db.session.commit()
            return Outcome("canceled", stop=True)
        # A finished mobilization still sends a row queued again afterwards (a held text staff
        # released, an unknown outcome resent): only a paused or scheduled one makes it wait.
        if mobilization.status not in (MobilizationStatus.SENDING, MobilizationStatus.DONE):
            _release(row, row.not_before, count_attempt=False)
            db.session.commit()
            return Outcome("held", stop=True)
    if row.kind is not MessageKind.OPT_OUT_CONFIRMATION:
        reason = consent.blocked_reason(row.phone, row.person)
        if reason:
            row.status, row.error_message = OutboxStatus.CANCELED, reason
            db.session.commit()
            return Outcome("blocked")
    org_tz = org_tz or get_organization().timezone
    validity = None
    if row.kind not in IMMEDIATE_KINDS:
        windows = local_time.windows_for(row.phone, row.person, org_tz, quiet_window(config))
        allowed = local_time.next_send_time(windows, now)
        if allowed > now:
            _release(row, allowed, "deferred: quiet hours", count_attempt=False)
            db.session.commit()
            return Outcome("deferred")
        cap = int(config.get("SMS_MAX_VALIDITY_SECONDS") or 14400)
        validity = local_time.validity_for(windows, now, cap) or None

    request = SendRequest(to=row.phone, body=row.body, outbox_id=row.id,
                          status_callback=status_callback_url(config, row.id), validity_period=validity)
    # No transaction stays open across the network call: on SQLite it would hold the write
    # lock (organizer.db) and make a reply posted meanwhile wait for the provider's answer.
    db.session.commit()
    if on_offer is not None:
        on_offer()
    try:
        result = (provider or backend()).send(request)
    except SendError as exc:
        return _record_send_error(row, exc, now)
    # One statement: the SID, the status and what Twilio counted (record_billing's segments).
    record_accepted_many([Accepted(outbox_id, result.sid, result.status, result.segments, now)])
    db.session.commit()
    return Outcome("sent")


def _record_send_error(row: OutboxMessage, exc: SendError, now: datetime) -> Outcome:
    """Record on ``row`` why the provider refused (or may not have taken) its text: retry
    later, fail, act on the number, pause the mobilization. Commits."""
    config = current_app.config
    if isinstance(exc, RetryableSendError):
        if row.attempts >= int(config.get("SMS_MAX_ATTEMPTS") or 8):
            _fail(row, exc.code, f"gave up after {row.attempts} attempts: {exc.message}")
        else:
            delay = exc.retry_after if exc.retry_after else _backoff(row.attempts)
            _release(row, now + timedelta(seconds=delay), f"retrying: {exc.message}", count_attempt=True)
            row.error_code = exc.code
        db.session.commit()
        if exc.code in RATE_LIMIT_CODES:
            if exc.retry_after:  # the provider said how long: every sender waits that long
                hold_sender(sender_key(config), exc.retry_after)
            else:  # slow the pace a little, rather than stopping for seconds
                slow_down(sender_key(config), row.segments, segments_per_second(config))
        _check_pause(row, now)
        return Outcome("retry")
    if isinstance(exc, (OptedOutError, InvalidNumberError, PermanentSendError)):
        # What to do is the error-code table's call (error_codes.RULES), not the HTTP status's.
        rule = rule_for(exc.code)
        if rule is not None and rule.action is Action.RETRY and row.attempts < int(config.get("SMS_MAX_ATTEMPTS") or 8):
            _release(row, now + timedelta(seconds=_backoff(row.attempts)), f"retrying: {exc.message}",
                     count_attempt=True)
            row.error_code = exc.code
            db.session.commit()
            _check_pause(row, now)
            return Outcome("retry")
        _fail(row, exc.code, exc.message)
        _act_on_number(row.phone, exc, now)
        db.session.commit()
        _check_pause(row, now)
        if rule is not None and rule.action is Action.OPT_OUT:
            return Outcome("opted out")
        return Outcome("invalid number" if rule is not None and rule.action is Action.FLAG else "failed")
    # AmbiguousSendError (and any other): left "sending" without a SID; recheck_ambiguous()
    # or reconcile_stale() settles it from the provider's list.
    row.error_code, row.error_message = exc.code, f"outcome unknown, to reconcile: {exc.message}"[:255]
    db.session.commit()
    return Outcome("ambiguous")


# --- the dispatcher's path: one query before each call, SIDs written a few at a time --------

#: Longest a SID the provider gave waits in memory before it is written with the others
#: gathered meanwhile. Unpaced, a batch (20 texts, 100 ms each at Twilio, on 8 senders)
#: takes about as long, so SIDs go with the next claim: one write transaction per batch
#: (every write waits its turn at SQLite's single lock and its flush to disk: written every
#: half second, they cost each text more time than its checks). A crash in between loses
#: nothing and doubles nothing: the row stays ``sending`` without a SID, and the sweep finds
#: its text in the provider's list. A STOP waits at most this long for a text in flight
#: (:func:`wait_for_sends_in_flight`).
RECORD_EVERY_SECONDS = 3.0


@dataclass(frozen=True)
class Accepted:
    """The provider took a text: what :func:`record_accepted_many` writes on its row."""

    outbox_id: int
    sid: str
    provider_status: str
    segments: int | None
    at: datetime


_ACCEPTED_STATEMENTS: dict[OutboxStatus, Any] = {}


def _accepted_statement(status: OutboxStatus):
    """The UPDATE of :func:`record_accepted_many` for rows moving to ``status`` (built once per
    status: building it cost more than running it)."""
    found = _ACCEPTED_STATEMENTS.get(status)
    if found is None:
        c = OutboxMessage.__table__.c
        # Constants, not an expanding IN: an executemany cannot expand one.
        forward = c.status.in_([literal(s.value) for s in _MAY_REPLACE[status]])
        at = bindparam("at", type_=c.updated_at.type)  # typed: stored as every other time
        found = _ACCEPTED_STATEMENTS[status] = (
            update(OutboxMessage.__table__).where(c.id == bindparam("row_id", type_=c.id.type)).values(
                sid=func.coalesce(c.sid, bindparam("new_sid", type_=c.sid.type)),
                sent_at=func.coalesce(c.sent_at, at), error_code=None, error_message=None, updated_at=at,
                status=case((forward, literal(status.value)), else_=c.status),
                provider_status=case((forward, bindparam("new_provider_status", type_=c.provider_status.type)),
                                     else_=c.provider_status),
                provider_segments=func.coalesce(bindparam("new_segments", type_=c.provider_segments.type),
                                                c.provider_segments),
            )
        )
    return found


def record_accepted_many(accepted: list[Accepted]) -> None:
    """:func:`record_accepted` and the provider's segment count (``record_billing``) for many
    rows, one executemany per status reached: keep a SID already recorded, move the status
    only forward, keep a segment count when the answer has none. The caller commits."""
    by_status: dict[OutboxStatus, list[dict]] = {}
    for item in accepted:
        by_status.setdefault(map_status(item.provider_status), []).append(
            {"row_id": item.outbox_id, "new_sid": item.sid, "at": item.at, "new_segments": item.segments,
             "new_provider_status": item.provider_status[:20]})
    connection = db.session.connection()
    for status, params in by_status.items():
        connection.execute(_accepted_statement(status), params)


class SenderLoop:
    """What one sender loop (:func:`run_dispatcher`) reads once instead of once per text, and
    the SIDs it has yet to write. Not thread-safe: one per loop.

    SIDs are written a few at a time (every ``RECORD_EVERY_SECONDS``, in the transaction of
    the next claim, and before the loop ends), not with a commit per text: each commit is a
    turn at SQLite's single write lock and a flush to disk."""

    def __init__(self, config, org_tz: str, provider: SmsBackend, every: float = RECORD_EVERY_SECONDS) -> None:
        self.config = config
        self.org_tz = org_tz
        self.provider = provider
        self.sender = sender_key(config)
        self.rate = segments_per_second(config)
        self.quiet = quiet_window(config)
        self.validity_cap = int(config.get("SMS_MAX_VALIDITY_SECONDS") or 14400)
        self.every = every
        self.segments: dict[int, int] = {}  # claimed row id -> its segments, for the pace
        # Claimed row id -> its attempts once claimed: a row still waiting in the batch after
        # the sweep took it for stale and another sender claimed it again has more, and is
        # no longer this loop's to send.
        self.attempts: dict[int, int] = {}
        self.pending: list[Accepted] = []
        self._oldest = 0.0
        self._written = 0

    def add(self, accepted: Accepted) -> None:
        if not self.pending:
            self._oldest = time.monotonic()
        self.pending.append(accepted)

    def due(self) -> bool:
        """Whether the oldest waiting SID has waited ``every`` seconds."""
        return bool(self.pending) and time.monotonic() - self._oldest >= self.every

    def write(self) -> None:
        """Write every waiting SID in the session's transaction; call :meth:`committed` once
        that transaction has committed (until then they are still waiting)."""
        if self.pending:
            record_accepted_many(self.pending)
        self._written = len(self.pending)

    def committed(self) -> None:
        del self.pending[:self._written]
        self._written = 0
        self._oldest = time.monotonic()

    def flush(self) -> None:
        """Write every waiting SID now and commit."""
        if self.pending:
            self.write()
            db.session.commit()
            self.committed()


_CHECK = None


def _check_statement():
    """The one query before each call: the row, its mobilization's status, the person's
    consent and zone, the number's opt-out and flag, and the sender's rate-limit hold (built
    once)."""
    global _CHECK
    if _CHECK is None:
        o = OutboxMessage.__table__.c
        m, p = Mobilization.__table__.c, Person.__table__.c
        _CHECK = (
            select(o.status, o.sid, o.attempts, o.phone, o.body, o.segments, o.kind, o.mobilization_id, m.status,
                   p.sms_consent, p.timezone, p.postal_code,
                   exists().where(PhoneOptOut.__table__.c.phone == o.phone),
                   exists().where(PhoneFlag.__table__.c.phone == o.phone),
                   select(SenderPace.__table__.c.next_slot).where(SenderPace.__table__.c.sender == bindparam("sender"))
                   .scalar_subquery())
            .select_from(OutboxMessage.__table__
                         .outerjoin(Mobilization.__table__, m.id == o.mobilization_id)
                         .outerjoin(Person.__table__, p.id == o.person_id))
            .where(o.id == bindparam("row_id"))
        )
    return _CHECK


@dataclass(frozen=True)
class _Recipient:
    """The two facts of a person quiet hours read (``local_time`` takes a Person or this)."""

    timezone: str | None
    postal_code: str | None


def _send_checked(outbox_id: int, loop: SenderLoop, *, now_fn: Callable[[], datetime],
                  sleep: Callable[[float], None], on_offer: Callable[[], None] | None) -> Outcome | None:
    """The usual case of :func:`process`, lean: pace, then one query re-checks the row, its
    mobilization, the person's consent and the number's opt-out and flag (and, unpaced, a
    rate-limit hold), the call, and the SID handed to ``loop`` to write with others.
    ``None`` when anything needs deciding (a canceled or paused mobilization, a blocked
    number, quiet hours): the caller takes the full path, already paced."""
    if loop.rate > 0:
        wait = reserve_slot(loop.sender, loop.segments.get(outbox_id, 1), loop.rate)
        if wait > 0:
            sleep(wait)
    for waited in (False, True):
        with read_only():
            found = db.session.connection().execute(_check_statement(),
                                                    {"row_id": outbox_id, "sender": loop.sender}).one_or_none()
        db.session.commit()
        if found is None:
            return Outcome("not claimed")
        (status, sid, attempts, phone, body, segments, kind, mobilization_id, mobilization_status, person_consent,
         person_zone, postal_code, opted_out, flagged, held_until) = found
        hold = (held_until or 0.0) - time.time() if loop.rate <= 0 and not waited else 0.0
        if hold <= 0:
            break
        sleep(hold)  # unpaced, a rate limit holds every sender (hold_sender); then check again
    if status is not OutboxStatus.SENDING or sid is not None or attempts != loop.attempts.get(outbox_id, attempts):
        return Outcome("not claimed")
    if kind is MessageKind.MOBILIZATION and mobilization_status not in (None, MobilizationStatus.SENDING,
                                                                         MobilizationStatus.DONE):
        return None
    if kind is not MessageKind.OPT_OUT_CONFIRMATION and (
            person_consent is SmsConsent.OPTED_OUT or opted_out or flagged):
        return None
    now = now_fn()
    validity = None
    if kind not in IMMEDIATE_KINDS:
        person = _Recipient(person_zone, postal_code) if person_consent is not None else None
        windows = local_time.windows_for(phone, person, loop.org_tz, loop.quiet)  # type: ignore[arg-type]
        if local_time.next_send_time(windows, now) > now:
            return None
        validity = local_time.validity_for(windows, now, loop.validity_cap) or None
    request = SendRequest(to=phone, body=body, outbox_id=outbox_id,
                          status_callback=status_callback_url(loop.config, outbox_id), validity_period=validity)
    if on_offer is not None:
        on_offer()
    try:
        result = loop.provider.send(request)
    except SendError as exc:
        row = db.session.get(OutboxMessage, outbox_id, populate_existing=True)
        if row is None:
            return Outcome("not claimed")
        return _record_send_error(row, exc, now)
    loop.add(Accepted(outbox_id, result.sid, result.status, result.segments, now))
    if loop.due():
        loop.flush()
    return Outcome("sent")


def _fail(row: OutboxMessage, code: int | None, message: str) -> None:
    row.status = OutboxStatus.FAILED
    row.error_code = code
    row.error_message = (message or "")[:255]


def _backoff(attempts: int) -> float:
    """Exponential backoff with full jitter: up to 2, 4, 8... seconds, capped at 10 minutes."""
    ceiling = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


def record_accepted(outbox_id: int, sid: str, provider_status: str, now: datetime) -> None:
    """Store the provider's SID on a row and move its status forward (never back: a status
    callback may have arrived before the worker got here)."""
    status = map_status(provider_status)
    # One statement: keep a SID already recorded, and move the status only forward.
    forward = OutboxMessage.status.in_(_MAY_REPLACE[status])
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == outbox_id)
        .values(
            sid=func.coalesce(OutboxMessage.sid, sid), sent_at=func.coalesce(OutboxMessage.sent_at, now),
            error_code=None, error_message=None, updated_at=now,
            status=case((forward, status.value), else_=OutboxMessage.status),
            provider_status=case((forward, provider_status[:20]), else_=OutboxMessage.provider_status),
        ),
        execution_options={"synchronize_session": False},
    )


def advance(outbox_id: int, status: OutboxStatus, provider_status: str | None, now: datetime,
            error_code: int | None = None, error_message: str | None = None) -> bool:
    """Move a row to ``status`` if that is forward (one conditional UPDATE). Returns True
    when it moved."""
    values: dict = {"status": status, "updated_at": now}
    if provider_status:
        values["provider_status"] = provider_status[:20]
    if status is OutboxStatus.DELIVERED:
        values["delivered_at"] = now
    if error_code is not None:
        values["error_code"] = error_code
        values["error_message"] = (error_message or f"Twilio error {error_code}")[:255]
    return bool(db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status.in_(_MAY_REPLACE[status]))
        .values(**values),
        execution_options={"synchronize_session": False},
    ).rowcount)


def _check_pause(row: OutboxMessage, now: datetime) -> None:
    """Pause the row's mobilization at once for a code that says every text will fail, or
    when too many recent sends hit filtering or rate codes."""
    if row.mobilization_id is None:
        return
    if row.error_code in PAUSE_NOW_CODES:
        pause_for_code(row.mobilization_id, row.error_code, now)
    elif row.error_code in PAUSE_CODES:
        check_auto_pause(row.mobilization_id, now)
    else:
        return
    db.session.commit()


def pause_for_code(mobilization_id: int, code: int, now: datetime) -> bool:
    """Pause a mobilization at the first text that failed for a reason every text shares
    (an unverified toll-free sender, an unregistered 10DLC number, a suspended account).
    The reason is stored as data ("code:30032"); pages word it. The caller commits."""
    return mobilizations.pause(mobilization_id, f"code:{code}", now)


def check_auto_pause(mobilization_id: int, now: datetime) -> bool:
    """Pause the mobilization if ``SMS_PAUSE_THRESHOLD`` of its texts hit a filtering or
    rate code within ten minutes. Returns True when it paused. The caller commits."""
    threshold = int(current_app.config.get("SMS_PAUSE_THRESHOLD") or 20)
    hits = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.mobilization_id == mobilization_id,
            OutboxMessage.error_code.in_(PAUSE_CODES),
            OutboxMessage.updated_at >= now - PAUSE_WINDOW,
        )
    ) or 0
    if hits < threshold:
        return False
    codes = sorted(set(db.session.scalars(
        select(OutboxMessage.error_code).where(OutboxMessage.mobilization_id == mobilization_id,
                                               OutboxMessage.error_code.in_(PAUSE_CODES)).distinct()
    )))
    # Stored as data ("hits|codes"); the pages word it in the reader's language.
    reason = f"{hits}|{', '.join(str(c) for c in codes)}"
    return mobilizations.pause(mobilization_id, reason, now)


# --- status callbacks -----------------------------------------------------------------------


def apply_status_callback(message_sid: str, provider_status: str, error_code: int | None,
                          outbox_id: int | None, now: datetime | None = None, *, segments: int | None = None,
                          price: str | None = None, price_unit: str | None = None) -> str:
    """Apply a status callback (deduplicated on SID and status; monotonic). Returns what
    happened: "duplicate", "unknown message", "updated" or "ignored" (an older status).
    ``segments``, ``price``: Twilio's NumSegments and Price when the callback carries them.
    The caller commits."""
    now = now or utcnow()
    row = None
    if outbox_id is not None:
        row = db.session.get(OutboxMessage, outbox_id)
        if row is not None and row.sid not in (None, message_sid):
            row = None  # a callback for another text carrying a stale id: trust the SID
    if row is not None and row.sid is None and db.session.scalar(
            select(StatusEvent.id).where(StatusEvent.message_sid == message_sid,
                                         StatusEvent.status.in_(("failed", "undelivered"))).limit(1)):
        row = None  # a late callback for the failed SID of a text that went back to the outbox
    if row is None:
        row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.sid == message_sid))
    try:
        with db.session.begin_nested():
            db.session.add(StatusEvent(message_sid=message_sid, status=provider_status[:20], error_code=error_code,
                                       outbox_id=row.id if row else None, received_at=now))
    except IntegrityError:
        return "duplicate"
    if row is None:
        return "unknown message"
    if row.sid is None:
        # The send was ambiguous (or the worker has not recorded it yet): the callback
        # tells us Twilio has the text, under this SID.
        record_accepted(row.id, message_sid, provider_status, now)
    status = map_status(provider_status)
    moved = advance(row.id, status, provider_status, now, error_code, None)
    if price is not None or segments is not None:
        record_billing(row.id, segments, price, price_unit)
    if error_code is not None:
        _act_on_number(row.phone, error_for(None, error_code, f"Twilio error {error_code}"), now)
    rule = rule_for(error_code)
    if moved and rule is not None and rule.action is Action.RETRY and status in (OutboxStatus.FAILED,
                                                                                  OutboxStatus.UNDELIVERED):
        _requeue_after_callback(row.id, message_sid, error_code, now)  # type: ignore[arg-type]
    if moved and row.mobilization_id is not None:
        if error_code in PAUSE_NOW_CODES:
            pause_for_code(row.mobilization_id, error_code, now)  # type: ignore[arg-type]
        elif error_code in PAUSE_CODES:
            check_auto_pause(row.mobilization_id, now)
    return "updated" if moved else "ignored"


def _requeue_after_callback(outbox_id: int, message_sid: str, code: int, now: datetime) -> None:
    """A text Twilio never handed to a carrier (30001 queue overflow, 30022 over the
    campaign's rate...) goes back to the outbox to be sent again later, as a new message:
    its failed SID is forgotten on the row (the status event keeps it, and the sweep's
    reconciliation knows it). A finished mobilization sends again until it is through.
    After ``SMS_MAX_ATTEMPTS`` the text stays failed. The caller commits."""
    row = db.session.get(OutboxMessage, outbox_id, populate_existing=True)
    if row is None or row.attempts >= int(current_app.config.get("SMS_MAX_ATTEMPTS") or 8):
        return
    row.status, row.sid, row.provider_status = OutboxStatus.QUEUED, None, None
    row.not_before = now + timedelta(seconds=_backoff(row.attempts) + RETRY_MAX_SECONDS / 10)
    row.error_message = f"retrying after Twilio {code} (was {message_sid})"[:255]
    row.sent_at = None
    if row.mobilization_id is not None:
        db.session.execute(
            update(Mobilization)
            .where(Mobilization.id == row.mobilization_id, Mobilization.status == MobilizationStatus.DONE)
            .values(status=MobilizationStatus.SENDING, finished_at=None),
            execution_options={"synchronize_session": False},
        )


def record_billing(outbox_id: int, segments: int | None, price: str | None, price_unit: str | None) -> None:
    """Store what Twilio billed for a text: its own segment count and price (Twilio gives the
    price as a negative amount, a charge; it is stored as the positive cost). Values Twilio
    did not send are left as they were. The caller commits."""
    values: dict = {}
    if segments is not None:
        values["provider_segments"] = segments
    amount = _price(price)
    if amount is not None:
        values["price"] = amount
        values["price_unit"] = (price_unit or "USD")[:3].upper()
    if values:
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values),
                           execution_options={"synchronize_session": False})


def _price(raw: str | None) -> Decimal | None:
    try:
        return abs(Decimal(str(raw))) if raw not in (None, "") else None
    except InvalidOperation:
        return None


def _act_on_number(phone: str, error: SendError, now: datetime) -> None:
    """What an error says about the number itself, whether the send or its status callback
    reported it (error_codes.RULES): unsubscribed (opt the number out), or unable to take
    texts (landline, nonexistent, blocked: flag it, so later mobilizations skip it)."""
    rule = rule_for(error.code)
    if rule is None:
        return
    if rule.action is Action.OPT_OUT:
        consent.opt_out_phone(phone, f"Twilio {error.code} (replied STOP)", now)
    elif rule.action is Action.FLAG:
        consent.flag_phone(phone, rule.title, error.code)


# --- the dispatcher loop --------------------------------------------------------------------


class DispatchInterrupted(Exception):
    """The database went away while a sender held claimed rows. ``unsent`` lists those never
    offered to the provider: once the database is back, :func:`release_unsent` requeues them
    at once instead of leaving them to the sweep (minutes). ``accepted``: texts the provider
    took whose SIDs were not written yet (:func:`record_accepted_many` writes them once the
    database is back; lost with the process, the sweep finds them in the provider's list).
    The cause is the database error."""

    def __init__(self, unsent: list[int], accepted: list[Accepted] | None = None) -> None:
        super().__init__(f"database lost with {len(unsent)} claimed rows not offered to the provider")
        self.unsent = unsent
        self.accepted = list(accepted or [])


def release_unsent(row_ids: list[int]) -> int:
    """Hand claimed rows that never reached the provider back to the queue (attempt not
    counted). Returns how many moved. The caller commits."""
    if not row_ids:
        return 0
    return db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(row_ids), OutboxMessage.status == OutboxStatus.SENDING,
               OutboxMessage.sid.is_(None))
        .values(status=OutboxStatus.QUEUED, attempts=OutboxMessage.attempts - 1, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    ).rowcount


def run_dispatcher(mobilization_id: int | None, budget_seconds: float = 20.0, *,
                   now_fn: Callable[[], datetime] = utcnow, sleep: Callable[[float], None] = time.sleep) -> int:
    """Send due rows of one mobilization (or the texts outside mobilizations) until none is
    due or ``budget_seconds`` have passed. Returns how many rows were processed; the
    caller re-enqueues when the budget ran out (so short replies never wait behind a long
    mobilization for long).

    Per text: one query before the provider's call (:func:`_send_checked`); per batch, one
    commit for the claim and the SIDs gathered meanwhile (:class:`SenderLoop`), and every
    SID is written before this returns.

    Raises:
        DispatchInterrupted: the database went away (its cause); it lists the claimed rows
            never offered and the SIDs not written yet.
    """
    started = time.monotonic()
    handled = 0
    last_beat = 0.0
    size = batch_size(current_app.config)
    loop = SenderLoop(current_app.config, get_organization().timezone, backend())
    db.session.commit()  # no transaction held into the loop (in the worker: SQLite's lock)
    stop = False
    recheck_after = float(current_app.config.get("SMS_AMBIGUOUS_RECHECK_SECONDS") or 0)
    ambiguous: list[tuple[float, int]] = []  # (when to look it up, outbox id)
    row_ids: list[int] = []
    index = 0
    offered: list[int] = []
    try:
        while not stop and time.monotonic() - started < budget_seconds:
            if ambiguous and ambiguous[0][0] <= time.monotonic():
                due = [row_id for at, row_id in ambiguous if at <= time.monotonic()]
                ambiguous = [(at, row_id) for at, row_id in ambiguous if row_id not in due]
                recheck_ambiguous(due, now_fn())
            beat = mobilization_id is not None and time.monotonic() - last_beat > 5
            row_ids, index = [], 0
            claimed = _claim_for_loop(loop, mobilization_id, now_fn(), size, beat=beat)
            if beat:
                last_beat = time.monotonic()
            if not claimed:
                break
            row_ids = claimed
            for index, row_id in enumerate(row_ids):
                # After a pause or cancel, process() hands each remaining claimed row back
                # (paused) or cancels it, without calling the provider.
                offered = []
                outcome = process(row_id, now_fn=now_fn, sleep=sleep, loop=loop,
                                  on_offer=lambda row_id=row_id: offered.append(row_id))
                handled += 1
                stop = stop or outcome.stop
                if outcome.status == "ambiguous" and recheck_after > 0:
                    ambiguous.append((time.monotonic() + recheck_after, row_id))
            row_ids = []
        loop.flush()
    except (OperationalError, InterfaceError) as exc:
        unsent = [row_id for row_id in row_ids[index:] if row_id not in offered]
        raise DispatchInterrupted(unsent, loop.pending) from exc
    if ambiguous:  # the last ones: wait out their delay, then look them up once
        sleep(max(0.0, ambiguous[-1][0] - time.monotonic()))
        recheck_ambiguous([row_id for _, row_id in ambiguous], now_fn())
    if mobilization_id is not None:
        mobilizations.maybe_finish(mobilization_id, now_fn())
        db.session.commit()
    return handled


def _heartbeat(mobilization_id: int, now: datetime) -> bool:
    """Record that a worker is sending this mobilization; False when it should not be. The
    caller commits."""
    return bool(db.session.execute(
        update(Mobilization)
        .where(Mobilization.id == mobilization_id, Mobilization.status == MobilizationStatus.SENDING)
        .values(heartbeat_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount)


def has_due_rows(mobilization_id: int | None, now: datetime) -> bool:
    owner = (OutboxMessage.mobilization_id == mobilization_id if mobilization_id is not None
             else OutboxMessage.mobilization_id.is_(None))
    return bool(db.session.scalar(select(exists().where(owner, _due(now)))))


def next_due_at(mobilization_id: int | None) -> datetime | None:
    """When the earliest deferred row of a mobilization becomes due."""
    owner = (OutboxMessage.mobilization_id == mobilization_id if mobilization_id is not None
             else OutboxMessage.mobilization_id.is_(None))
    return db.session.scalar(
        select(func.min(OutboxMessage.not_before)).where(owner, OutboxMessage.status == OutboxStatus.QUEUED)
    )


# --- the sweep ------------------------------------------------------------------------------


@dataclass
class SweepReport:
    reconciled: int = 0
    requeued: int = 0
    unknown: int = 0
    started: int = 0
    finished: int = 0
    to_dispatch: list[int | None] | None = None


def reconcile_stale(now: datetime, provider: SmsBackend | None = None, limit: int = 500) -> SweepReport:
    """Settle rows left ``sending`` without a SID for longer than any send can take
    (``SMS_SENDING_STALE_SECONDS``): the worker died or the answer was lost.

    Each is looked up in the provider's messages to that number since just before the
    claim: found (same body, a SID we have not recorded) → it was sent, the SID is kept;
    not found → it never reached the provider, so it is requeued (safe: no request of ours
    can still be in flight); the lookup failing for ``SMS_UNKNOWN_AFTER_SECONDS``, or the
    attempts used up → ``unknown``. Commits after each row.
    """
    config = current_app.config
    stale_before = now - timedelta(seconds=float(config.get("SMS_SENDING_STALE_SECONDS") or 120))
    give_up_before = now - timedelta(seconds=float(config.get("SMS_UNKNOWN_AFTER_SECONDS") or 3600))
    max_attempts = int(config.get("SMS_MAX_ATTEMPTS") or 8)
    report = SweepReport()
    rows = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.sid.is_(None),
            OutboxMessage.claimed_at < stale_before,
        ).order_by(OutboxMessage.id).limit(limit)
    ).all()
    provider = provider or (backend() if rows else None)
    for row in rows:
        claimed_at = row.claimed_at or row.updated_at
        try:
            found = provider.list_recent(row.phone, claimed_at - RECONCILE_MARGIN)  # type: ignore[union-attr]
        except (RetryableSendError, PermanentSendError) as exc:
            if claimed_at < give_up_before:
                row.status = OutboxStatus.UNKNOWN
                row.error_message = f"could not check with the provider: {exc.message}"[:255]
                report.unknown += 1
                db.session.commit()
            continue
        if _settle_from_list(row, found, now):
            report.reconciled += 1
        elif row.attempts >= max_attempts:
            row.status = OutboxStatus.UNKNOWN
            row.error_message = "send interrupted too often; check and decide"
            report.unknown += 1
        else:
            _release(row, now, "send interrupted and not found at the provider; requeued", count_attempt=True)
            report.requeued += 1
        db.session.commit()
    return report


def _settle_from_list(row: OutboxMessage, found: list, now: datetime) -> bool:
    """Keep the SID when the provider's recent messages to the row's number hold its text
    under a SID no row has; True when it did (the caller commits)."""
    candidates = [m for m in found if m.body.strip() == row.body.strip()]
    sids = [m.sid for m in candidates]
    # A SID a status callback reported is ours too, even when a retry forgot it on its row.
    known = set(db.session.scalars(
        select(OutboxMessage.sid).where(OutboxMessage.sid.in_(sids))
        .union(select(StatusEvent.message_sid).where(StatusEvent.message_sid.in_(sids)))
    )) if candidates else set()
    match = next((m for m in reversed(candidates) if m.sid not in known), None)  # oldest first
    if match is None:
        return False
    record_accepted(row.id, match.sid, match.status, now)
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row.id)
        .values(error_message="reconciled from the provider's message list"),
        execution_options={"synchronize_session": False},
    )
    return True


def recheck_ambiguous(outbox_ids: list[int], now: datetime, provider: SmsBackend | None = None) -> int:
    """Look for just-sent texts whose answer was ambiguous (a 5xx, a lost reply) in the
    provider's message list, seconds after the send rather than after the stale timeout.

    Found: the SID is kept. Not found (or the provider cannot be asked): the row stays
    ``sending`` for :func:`reconcile_stale`, which alone may requeue it, once no request of
    ours can still be in flight. Returns how many were settled; commits.
    """
    settled = 0
    for outbox_id in outbox_ids:
        row = db.session.get(OutboxMessage, outbox_id, populate_existing=True)
        if row is None or row.status is not OutboxStatus.SENDING or row.sid is not None:
            continue
        try:
            found = (provider or backend()).list_recent(row.phone, (row.claimed_at or row.updated_at)
                                                        - RECONCILE_MARGIN)
        except (RetryableSendError, PermanentSendError):
            continue
        if _settle_from_list(row, found, now):
            settled += 1
        db.session.commit()
    return settled


def sweep(now: datetime | None = None, provider: SmsBackend | None = None, *, force: bool = False) -> SweepReport:
    """Repair and restart: reconcile stale sends, start due scheduled mobilizations, finish
    completed ones, and list what needs a sender (``to_dispatch``: mobilization ids, and
    ``None`` for texts outside mobilizations). A mobilization gets senders when its last
    heartbeat is older than 30 seconds, or always with ``force`` (a worker starting, an
    operator's command: a spare sender costs nothing, claims are atomic). Commits; the
    caller enqueues."""
    now = now or utcnow()
    report = reconcile_stale(now, provider)
    to_dispatch: list[int | None] = []
    due_scheduled = db.session.scalars(
        select(Mobilization.id).where(Mobilization.status == MobilizationStatus.SCHEDULED,
                                      Mobilization.scheduled_at <= now)
    ).all()
    for mobilization_id in due_scheduled:
        moved = db.session.execute(
            update(Mobilization)
            .where(Mobilization.id == mobilization_id, Mobilization.status == MobilizationStatus.SCHEDULED)
            .values(status=MobilizationStatus.SENDING),
            execution_options={"synchronize_session": False},
        ).rowcount
        report.started += moved
    db.session.commit()
    stale_beat = now - timedelta(seconds=30)
    sending = db.session.execute(
        select(Mobilization.id, Mobilization.heartbeat_at).where(
            Mobilization.status == MobilizationStatus.SENDING, Mobilization.kind == MobilizationKind.BROADCAST
        )
    ).all()
    for mobilization_id, beat in sending:
        if mobilizations.maybe_finish(mobilization_id, now):
            report.finished += 1
        elif (force or beat is None or beat < stale_beat or mobilization_id in due_scheduled) and has_due_rows(
            mobilization_id, now
        ):
            to_dispatch.append(mobilization_id)
    db.session.commit()
    if has_due_rows(None, now):
        to_dispatch.append(None)
    report.to_dispatch = to_dispatch
    return report


def stuck_rows(mobilization_id: int) -> list[OutboxMessage]:
    """Rows whose outcome is unknown, for a person to decide."""
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.mobilization_id == mobilization_id,
                                    OutboxMessage.status == OutboxStatus.UNKNOWN).order_by(OutboxMessage.id)
    ))



# --- a STOP that holds from its answer on ---------------------------------------------------


def wait_for_sends_in_flight(phone: str, timeout: float | None = None, *,
                             sleep: Callable[[float], None] = time.sleep) -> bool:
    """Wait until no text to ``phone`` is between its last check and the provider's answer.

    Call it after committing an opt-out and before acknowledging the STOP: a worker that
    checked the number just before the commit may still be sending to it. Once no row to the
    number is claimed without a SID, every later send re-checks the number and finds the
    opt-out, so nothing reaches the person after Twilio hears our answer. Rows claimed longer
    ago than a send can last (a dead worker's) are not waited for: the sweep re-checks them.
    Gives up after ``timeout`` seconds (``SMS_STOP_SETTLE_SECONDS``, default 10: Twilio waits
    15 for the answer). Returns True when settled. Ends its transactions (no lock is held
    while it sleeps); the caller's must be committed.
    """
    config = current_app.config
    timeout = float(config.get("SMS_STOP_SETTLE_SECONDS") or 10) if timeout is None else timeout
    stale = timedelta(seconds=float(config.get("SMS_SENDING_STALE_SECONDS") or 120))
    deadline = time.monotonic() + timeout
    while True:
        in_flight = db.session.scalar(select(exists().where(
            OutboxMessage.phone == phone, OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.sid.is_(None), OutboxMessage.claimed_at >= utcnow() - stale,
        )))
        db.session.rollback()
        if not in_flight:
            return True
        if time.monotonic() >= deadline:
            log.warning("a send to %s was still in flight %.0f s after its STOP", phone, timeout)
            return False
        sleep(0.05)
