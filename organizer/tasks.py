"""The task queue: Huey, on SQLite under ``instance/`` by default, on Redis when ``REDIS_URL`` is set.

The queue is configured from the environment when this module is imported, because
Huey's task decorators need the instance at import; the Flask app is only built when a
task runs, in the worker process (``app_context``). Start a worker with ``make worker``
or ``huey_consumer organizer.tasks.huey -k thread -w 4``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from flask import Flask, has_app_context
from huey import Huey, RedisHuey, SqliteHuey

from config import INSTANCE_DIR


def make_huey() -> Huey:
    """The queue named by the environment (``REDIS_URL``, else ``HUEY_SQLITE_PATH``)."""
    immediate = os.environ.get("HUEY_IMMEDIATE", "").lower() in {"1", "true", "yes"}
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return RedisHuey("organizer", url=redis_url, immediate=immediate)
    path = os.environ.get("HUEY_SQLITE_PATH", str(INSTANCE_DIR / "huey.sqlite3"))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return SqliteHuey("organizer", filename=path, immediate=immediate)


huey = make_huey()
log = logging.getLogger(__name__)
T = TypeVar("T")

#: Pauses between attempts when a task loses the database (a restart, a failover, SQLite
#: locked past its timeout): about a minute in all; after that the task fails and the
#: sweep takes its work over.
DB_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def retry_on_database_loss(work: Callable[[], T], *, delays: tuple[float, ...] = DB_RETRY_DELAYS,
                           sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``work()``; when the database cannot be reached, roll back and run it again after
    a growing pause, so a database restart delays the work by seconds instead of killing it.
    ``work`` must be safe to repeat (every task's is: claims are atomic, rows are the truth).

    Raises:
        OperationalError, InterfaceError: still unreachable after the last pause.
    """
    from sqlalchemy.exc import InterfaceError, OperationalError

    from organizer.extensions import db

    for delay in (*delays, None):
        try:
            return work()
        except (OperationalError, InterfaceError) as exc:
            if delay is None:
                raise
            log.warning("database unavailable (%s); trying again in %.1f s", type(exc.orig).__name__, delay)
            try:
                db.session.rollback()  # the pool drops the dead connection; pre-ping tests the next
            except Exception:  # noqa: BLE001, S110 - the connection is gone already
                pass
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


_worker_app: Flask | None = None


@contextlib.contextmanager
def app_context() -> Iterator[None]:
    """Run task code inside an app context: the caller's (immediate mode, tests) or the worker's own."""
    global _worker_app
    if has_app_context():
        yield
        return
    if _worker_app is None:
        from organizer import create_app

        _worker_app = create_app()
    from organizer.db import write_transactions

    with _worker_app.app_context(), write_transactions():
        yield

# Areas' task modules register their tasks on ``huey`` when imported.
import organizer.auth.tasks  # noqa: E402,F401
import organizer.backups.tasks  # noqa: E402,F401
import organizer.people.tasks  # noqa: E402,F401
import organizer.reports.tasks  # noqa: E402,F401
import organizer.sms.tasks  # noqa: E402,F401
