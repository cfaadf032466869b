"""What every benchmark shares: cached databases, timing, and the one-line report format.

Each figure is printed as ``name: value unit`` followed by the baseline measured in the same
run (raw SQL, or a bare client) and the ratio, e.g.::

    board_page: 182.4 ms (raw SQL 41.0 ms, ratio 4.45)

Databases are built once into ``bench/.cache/<shape>.sqlite3`` (migrations, then bulk inserts
with executemany) and reused by later runs; delete the file to rebuild.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

CACHE = Path(__file__).resolve().parent / ".cache"
_APPS: dict[str, Flask] = {}


def report(name: str, value: float, unit: str, *, baseline: float | None = None, baseline_name: str = "raw SQL",
           extra: str = "") -> None:
    """Print one figure, with its baseline and the ratio when there is one (and ``extra`` facts)."""
    line = f"{name}: {value:.1f} {unit}"
    if baseline is not None:
        ratio = value / baseline if baseline else float("inf")
        line += f" ({baseline_name} {baseline:.1f} {unit}, ratio {ratio:.2f}{'; ' + extra if extra else ''})"
    elif extra:
        line += f" ({extra})"
    print(line, flush=True)


def timed_ms(fn: Callable[[], object], repeat: int = 5, warmup: int = 1, *, budget_s: float = 1.0,
             most: int = 25, prepare: Callable[[], object] | None = None) -> float:
    """The median wall time of ``fn`` in milliseconds, after ``warmup`` untimed calls: at least
    ``repeat`` samples, and more (up to ``most``) while they have taken less than ``budget_s``.
    Five samples of a 30 ms page made medians that moved by half between runs (a page with
    its cache warm once came out slower than without); a page that fast gets 25 samples for a
    quarter of a second, while a slow figure still costs five. ``prepare``: run, untimed, before
    each call."""
    for _ in range(warmup):
        if prepare is not None:
            prepare()
        fn()
    samples: list[float] = []
    began = time.perf_counter()
    while len(samples) < repeat or (len(samples) < most and time.perf_counter() - began < budget_s):
        if prepare is not None:
            prepare()
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def database_app(shape: str, build: Callable[[Flask], None]) -> Flask:
    """The app on the cached ``shape`` database (one per run), built by ``build(app)`` the first time."""
    if shape in _APPS:
        return _APPS[shape]
    from flask_migrate import upgrade

    from organizer import create_app

    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{shape}.sqlite3"
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{path}"
    marker = CACHE / f"{shape}.built"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ECHO": False})
    if not marker.exists():
        if path.exists():
            path.unlink()
        print(f"# building the {shape} database once (cached in {path})...", flush=True)
        started = time.perf_counter()
        with app.app_context():
            upgrade()
            build(app)
        marker.write_text(datetime.now(UTC).isoformat())
        print(f"# built in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        # A cached database built before a newer migration: bring it up to date (a no-op otherwise).
        with app.app_context():
            upgrade()
    _APPS[shape] = app
    return app


def close_databases() -> None:
    """Close every pooled connection before the interpreter exits.

    Connections opened by worker threads (the dispatch figure) would otherwise stay in the
    pools and be finalized during interpreter shutdown.
    """
    from organizer.extensions import db

    for app in _APPS.values():
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    _APPS.clear()


def logged_in_client(app: Flask, email: str, password: str):
    """A test client of ``app`` signed in through the login form (CSRF checks off for the bench)."""
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, f"bench login as {email} failed"
    return client

