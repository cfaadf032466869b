"""SMS work on the Huey queue: senders per mobilization, single texts, and the sweep.

Tasks take ids and open their own app context (``organizer.tasks.app_context``). They
are registered when ``organizer.tasks`` is imported (it imports this module), so
``huey_consumer organizer.tasks.huey`` runs them. With ``HUEY_IMMEDIATE`` (the test
configuration) work runs at once in the caller, and delayed work is left to the sweep.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import datetime

from flask import current_app, has_app_context
from huey import crontab
from sqlalchemy import select

from organizer.extensions import db
from organizer.sms import sending
from organizer.sms.models import Mobilization, MobilizationStatus
from organizer.sms.outbox import take_noted_dispatches
from organizer.tasks import app_context, huey, retry_on_database_loss

log = logging.getLogger(__name__)

#: Seconds one sender task works before yielding its worker thread.
DISPATCH_BUDGET_SECONDS = 20.0


def _immediate() -> bool:
    return bool(huey.immediate or (has_app_context() and current_app.config.get("HUEY_IMMEDIATE")))


def _enqueue(task, *args, eta: datetime | None = None) -> None:
    if _immediate():
        if eta is None:  # delayed work is picked up by the sweep
            task.call_local(*args)
        return
    if eta is None:
        task(*args)
    else:
        task.schedule(args=args, eta=eta)


def dispatch_noted() -> None:
    """Hand the texts noted by services to the worker. Call it right after the commit."""
    for kind, ident in take_noted_dispatches():
        if kind == "mobilization":
            start_senders(ident)
        else:
            _enqueue(send_row, ident)


def start_senders(mobilization_id: int) -> None:
    """Enqueue enough sender tasks for the pace (parallel senders claim rows atomically)."""
    rate = sending.segments_per_second(current_app.config)
    workers = int(current_app.config.get("SMS_DISPATCH_WORKERS") or 4)
    count = 1 if _immediate() else max(1, min(workers, math.ceil(rate) if rate else workers))
    for _ in range(count):
        _enqueue(send_mobilization, mobilization_id)


def _dispatch(mobilization_id: int | None) -> int:
    """Run a sender and continue; when the database goes away, wait for it and go on
    (``retry_on_database_loss``), first requeueing the rows it had claimed but not sent."""
    unsent: list[int] = []
    accepted: list[sending.Accepted] = []  # SIDs the provider gave that were not written yet

    def attempt() -> int:
        if unsent or accepted:
            sending.release_unsent(unsent)
            sending.record_accepted_many(accepted)
            db.session.commit()
            unsent.clear()
            accepted.clear()
        try:
            handled = sending.run_dispatcher(mobilization_id, DISPATCH_BUDGET_SECONDS)
        except sending.DispatchInterrupted as exc:
            unsent.extend(exc.unsent)
            accepted.extend(exc.accepted)
            raise exc.__cause__ from None  # type: ignore[misc]
        _follow_up(mobilization_id)
        return handled

    return retry_on_database_loss(attempt)


@huey.task()
def send_mobilization(mobilization_id: int) -> int:
    """Send due texts of a mobilization for a while, then hand over to a fresh task."""
    with app_context():
        return _dispatch(mobilization_id)


@huey.task()
def send_texts() -> int:
    """Send due texts outside mobilizations (replies, answers, reminders)."""
    with app_context():
        return _dispatch(None)


@huey.task()
def send_row(outbox_id: int) -> str:
    """Send one text now if it is due (a reply, a test, an automatic answer)."""
    from organizer.db import utcnow

    claimed: list[int] = []
    offered: list[int] = []

    def attempt() -> str:
        if claimed and not offered:  # an earlier attempt lost the database before sending
            sending.release_unsent(claimed)
            db.session.commit()
        claimed.clear()
        if sending.claim_row(outbox_id, utcnow()) is None:
            return "not due"
        claimed.append(outbox_id)
        return sending.process(outbox_id, on_offer=lambda: offered.append(outbox_id)).status

    with app_context():
        return retry_on_database_loss(attempt)


def _follow_up(mobilization_id: int | None) -> None:
    """Continue where a sender stopped: at once if rows are due, else when the next
    deferred row (quiet hours, retry backoff) becomes due."""
    from organizer.db import utcnow

    if mobilization_id is not None:
        status = db.session.scalar(select(Mobilization.status).where(Mobilization.id == mobilization_id))
        if status is not MobilizationStatus.SENDING:
            return
    task = send_mobilization if mobilization_id is not None else send_texts
    args = (mobilization_id,) if mobilization_id is not None else ()
    if sending.has_due_rows(mobilization_id, utcnow()):
        if not _immediate():
            _enqueue(task, *args)
        return
    eta = sending.next_due_at(mobilization_id)
    if eta is not None:
        _enqueue(task, *args, eta=eta)


def run_sweep(now: datetime | None = None, *, force: bool = False) -> sending.SweepReport:
    """Sweep (see ``sending.sweep``) and start senders for what needs one."""
    report = sending.sweep(now, force=force)
    from organizer.sms import reminders

    reminders.queue_reminders(now)
    db.session.commit()
    dispatch_noted()
    for mobilization_id in report.to_dispatch or []:
        if mobilization_id is None:
            _enqueue(send_texts)
        else:
            start_senders(mobilization_id)
    return report


@huey.periodic_task(crontab(minute="*"))
def sweep_every_minute() -> None:
    """The safety net: whatever a lost task left behind is picked up within a minute."""
    with app_context():
        report = retry_on_database_loss(run_sweep)
        if report.reconciled or report.requeued or report.unknown or report.started or report.finished:
            log.info("sms sweep: %s", report)


@huey.task()
def sweep_now() -> None:
    """A sweep on demand (enqueued when a worker starts): restarts every unfinished send."""
    with app_context():
        retry_on_database_loss(lambda: run_sweep(force=True))


_started = threading.Lock()
_sweep_enqueued = False


@huey.on_startup()
def sweep_at_worker_start() -> None:
    """A restarted worker repairs at once instead of waiting for the next minute. Also
    shows this area's log (the console backend's texts) in the worker's output."""
    global _sweep_enqueued
    with _started:
        if _sweep_enqueued or huey.immediate:
            return
        _sweep_enqueued = True
    area_log = logging.getLogger("organizer.sms")
    if not area_log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s:%(name)s: %(message)s"))
        area_log.addHandler(handler)
        area_log.setLevel(logging.INFO)
    sweep_now()
