"""The task queue: Huey, on SQLite under ``instance/`` by default, on Redis when ``REDIS_URL`` is set.

The queue is configured from the environment when this module is imported, because
Huey's task decorators need the instance at import; the Flask app is only built when a
task runs, in the worker process (``app_context``). Start a worker with ``make worker``
or ``huey_consumer organizer.tasks.huey -k thread -w 4``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

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
    with _worker_app.app_context():
        yield

# Areas' task modules register their tasks on ``huey`` when imported.
import organizer.people.tasks  # noqa: E402,F401
import organizer.sms.tasks  # noqa: E402,F401
