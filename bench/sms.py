"""Benchmarks for texting: the texting pages, dispatch throughput against a fake Twilio, and launching.

* ``sms_list_page`` / ``sms_inbox_page`` on both shapes (``bench.shapes``): the mobilization list
  (25 newest with their counts) and the inbox (50 newest threads), through the test client as
  an organizer, next to the raw SQL behind them.

* ``dispatch`` (large shape): 10,000 texts of one mobilization (the "Dispatch list" tag) sent through the whole pipeline (claim with a
  conditional UPDATE, re-check consent and quiet hours, the real ``twilio`` client, record the
  SID) by 8 in-process worker threads, each running the same loop a Huey sender task runs
  (``sending.run_dispatcher``), unpaced. The fake Twilio (``tests/sms/fake_twilio.py``) runs in
  its own process on 127.0.0.1 and takes 100 ms per create, as Twilio's API about does.
  Baseline: a bare loop of ``client.messages.create`` against the same server on 8 threads.
* ``dispatch_with_10pct_429`` (large shape): the same, paced at 10 segments a second for 40
  seconds, against a fake that answers every tenth create with 429 (no Retry-After): texts
  accepted per second next to the configured pace.
* ``launch`` (large shape): a 50,000-person mobilization (the "Launch list" tag) launched by ``mobilizations.launch`` (audience,
  exclusions, rendering, segment counts, the rows written by ``INSERT ... SELECT``, one commit),
  next to a raw ``INSERT ... SELECT`` of the same rows that leaves out whom a launch must leave
  out: opted out by consent or by number (``sms_opt_outs``: another holder's STOP), flagged
  numbers, numbers on hold, and a number's second person (one text per number).

Each sending figure deletes only the mobilizations it made, so the cached database keeps its
1,000,000 texts.
"""

from __future__ import annotations

import json
import sqlite3
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import delete, select, text

from bench.common import database_app, logged_in_client, report, timed_ms
from bench.shapes import (DISPATCH_PEOPLE, DISPATCH_TAG, LAUNCH_PEOPLE, LAUNCH_TAG, ORGANIZER, PASSWORD,
                          build_large, build_peer)

DISPATCH = DISPATCH_PEOPLE
LAUNCH = LAUNCH_PEOPLE
BARE = 2_000
THREADS = 8
LATENCY = 0.1  # seconds the fake takes per create, about what Twilio's API takes
PACE = 10.0  # segments a second, the default for a Messaging Service
PACED_SECONDS = 40.0  # how long the paced figure sends
ACCOUNT, TOKEN, SENDER = "AC" + "1" * 32, "bench-token", "+13125550199"
BENCH_TITLES = ("Bench dispatch", "Bench launch", "raw")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_fake(*extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.sms.fake_twilio", "--port", str(port), "--auth-token", TOKEN,
         "--latency", str(LATENCY), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/_fake/messages", timeout=1).read()  # noqa: S310 - local fake
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the fake Twilio did not start")


def _fake_count(url: str) -> int:
    return len(json.loads(urllib.request.urlopen(url + "/_fake/messages", timeout=30).read()))  # noqa: S310


def _bare_loop(url: str, count: int, threads: int) -> float:
    """Messages per second of ``client.messages.create`` alone (no database)."""
    from twilio.rest import Client

    from organizer.sms.providers import _RedirectingHttpClient

    def work(n: int, offset: int) -> None:
        client = Client(ACCOUNT, TOKEN, http_client=_RedirectingHttpClient(url, 10.0))
        for i in range(n):
            client.messages.create(to=f"+1773{5_000_000 + offset + i:07d}", from_=SENDER, body="Bare loop text")

    per = count // threads
    workers = [threading.Thread(target=work, args=(per, t * per)) for t in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return per * threads / (time.perf_counter() - started)


def _dispatch(app: Flask, url: str, *, pace: float = 0, budget: float = 600) -> tuple[float, int]:
    """Launch 10,000 texts and send them with 8 sender loops (for ``budget`` seconds, at
    ``pace`` segments a second, 0: unpaced); returns (texts accepted per second, accepted)."""
    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.sms import compose, mobilizations, outbox, sending
    from organizer.sms.audiences import AudienceFilter

    app.config.update(SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TOKEN,
                      TWILIO_FROM_NUMBER=SENDER, TWILIO_API_BASE_URL=url, SMS_SEGMENTS_PER_SECOND=str(pace),
                      SMS_QUIET_HOURS="00:00-00:00", PUBLIC_BASE_URL="https://bench.example.org",
                      # 429s are the point of the paced figure: they must not pause it.
                      SMS_PAUSE_THRESHOLD=1_000_000)
    app.extensions.pop("sms_backend", None)
    before = _fake_count(url)
    with app.app_context():
        actor = db.session.scalar(select(User))
        m = compose.save_mobilization(None, title="Bench dispatch", body="Hearing Tuesday 6pm, {first_name}!",
                                      audience=AudienceFilter(tag_id=DISPATCH_TAG), actor=actor)
        mobilizations.launch(m, actor)
        db.session.commit()
        outbox.take_noted_dispatches()
        mobilization_id = m.id

    def sender() -> None:
        with app.app_context():
            sending.run_dispatcher(mobilization_id, budget_seconds=budget)

    workers = [threading.Thread(target=sender) for _ in range(THREADS)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    received = _fake_count(url) - before
    with app.app_context():
        from organizer.sms.models import OutboxMessage

        sent = db.session.scalar(select(db.func.count()).where(OutboxMessage.mobilization_id == mobilization_id,
                                                               OutboxMessage.sid.is_not(None)))
        _cleanup(db)
    # Every text the fake took has its SID (none lost, none twice). A loaded machine may end the
    # budget before all are sent: the figure is still texts per second, and the count is reported.
    assert sent == received, (sent, received)
    return sent / elapsed, received


def _launch_once(app: Flask) -> None:
    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.sms import compose, mobilizations, outbox
    from organizer.sms.audiences import AudienceFilter

    with app.app_context():
        actor = db.session.scalar(select(User))
        m = compose.save_mobilization(None, title="Bench launch", body="Hearing Tuesday 6pm, {first_name}!",
                                      audience=AudienceFilter(tag_id=LAUNCH_TAG), actor=actor)
        db.session.commit()
        started = time.perf_counter()
        mobilizations.launch(m, actor)
        db.session.commit()
        assert m.recipients == LAUNCH, m.recipients
        _launch_once.elapsed.append(time.perf_counter() - started)  # type: ignore[attr-defined]
        outbox.take_noted_dispatches()
        _cleanup(db)


def _raw_launch(app: Flask) -> None:
    from organizer.extensions import db

    with app.app_context():
        db.session.execute(text("INSERT INTO sms_mobilizations (title, kind, status, body, audience, rsvp_prompt, "
                                "created_at, recipients, excluded_opted_out, excluded_no_phone, excluded_invalid, "
                                "excluded_duplicate) VALUES ('raw', 'broadcast', 'sending', 'x', '{}', 0, "
                                ":now, 0, 0, 0, 0, 0)"), {"now": datetime.now(UTC).replace(tzinfo=None)})
        mobilization_id = db.session.scalar(text("SELECT max(id) FROM sms_mobilizations"))
        db.session.commit()
        started = time.perf_counter()
        db.session.execute(text(
            "INSERT INTO sms_outbox (mobilization_id, person_id, phone, body, encoding, segments, kind, status, "
            "attempts, not_before, created_at, updated_at) "
            "SELECT :m, p.id, p.phone, replace('Hearing Tuesday 6pm, {first_name}!', '{first_name}', "
            "coalesce(nullif(p.preferred_name, ''), p.first_name)), "
            "'GSM-7', 1, 'mobilization', 'queued', 0, :now, :now, :now FROM people p "
            "JOIN person_tags ON person_tags.person_id = p.id AND person_tags.tag_id = :tag "
            "WHERE p.archived_at IS NULL AND p.phone IS NOT NULL AND p.phone != '' AND p.sms_consent != 'opted_out' "
            "AND p.phone NOT IN (SELECT phone FROM sms_opt_outs) AND p.phone NOT IN (SELECT phone FROM sms_phone_flags) "
            "AND p.phone NOT IN (SELECT phone FROM people_phone_conflicts WHERE status != 'allowed') "
            # One text per number: the first of the list at it (the launch addresses it to them all).
            "AND p.id = (SELECT min(q.id) FROM people q JOIN person_tags qt ON qt.person_id = q.id "
            "AND qt.tag_id = :tag WHERE q.phone = p.phone AND q.archived_at IS NULL AND q.sms_consent != 'opted_out')"
        ), {"m": mobilization_id, "tag": LAUNCH_TAG, "now": datetime.now(UTC).replace(tzinfo=None)})
        db.session.commit()
        _raw_launch.elapsed.append(time.perf_counter() - started)  # type: ignore[attr-defined]
        written = db.session.scalar(text("SELECT count(*) FROM sms_outbox WHERE mobilization_id = :m"),
                                    {"m": mobilization_id})
        assert written == LAUNCH, written
        _cleanup(db)


def _cleanup(db) -> None:
    """Delete the mobilizations (and their texts) the bench made, and nothing else."""
    from organizer.sms.models import Mobilization, OutboxMessage

    made = select(Mobilization.id).where(Mobilization.title.in_(BENCH_TITLES))
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.mobilization_id.in_(made)))
    db.session.execute(delete(Mobilization).where(Mobilization.id.in_(made)))
    db.session.commit()


LIST_SQL = [
    "SELECT count(*) FROM sms_mobilizations",
    "SELECT id, title, status, launched_at FROM sms_mobilizations ORDER BY id DESC LIMIT 25",
    "SELECT mobilization_id, status, sid IS NOT NULL, count(*) FROM sms_outbox WHERE mobilization_id IN "
    "(SELECT id FROM sms_mobilizations ORDER BY id DESC LIMIT 25) GROUP BY 1, 2, 3",
    "SELECT coalesce(sum(unread), 0) FROM sms_conversations",
]
INBOX_SQL = [
    "SELECT count(*) FROM sms_conversations",
    "SELECT c.id, c.phone, c.unread, c.last_message_at, p.first_name, p.last_name, u.name FROM sms_conversations c "
    "LEFT JOIN people p ON p.id = c.person_id LEFT JOIN users u ON u.id = c.assigned_to_id "
    "ORDER BY c.last_message_at DESC, c.id DESC LIMIT 50",
    "SELECT coalesce(sum(unread), 0) FROM sms_conversations",
]


def _raw(path: str, statements: list[str]) -> None:
    con = sqlite3.connect(path)
    try:
        for statement in statements:
            con.execute(statement).fetchall()
    finally:
        con.close()


def _pages(shape: str, app: Flask) -> None:
    """The mobilization list and the inbox, as an organizer (who sees every text)."""
    from organizer.extensions import db

    with app.app_context():
        path = db.engine.url.database
    client = logged_in_client(app, ORGANIZER, PASSWORD)

    def get(url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    report(f"sms_list_page[{shape}]", timed_ms(lambda: get("/sms/")), "ms",
           baseline=timed_ms(lambda: _raw(path, LIST_SQL)))
    report(f"sms_inbox_page[{shape}]", timed_ms(lambda: get("/sms/inbox")), "ms",
           baseline=timed_ms(lambda: _raw(path, INBOX_SQL)))


def run() -> None:
    _pages("peer", database_app("peer", build_peer))
    app = database_app("large", build_large)
    _pages("large", app)
    with app.app_context():
        from organizer.extensions import db

        _cleanup(db)

    _launch_once.elapsed = []  # type: ignore[attr-defined]
    _raw_launch.elapsed = []  # type: ignore[attr-defined]
    for _ in range(3):  # each run times only the launch itself; drafts and clean-up are outside
        _launch_once(app)
        _raw_launch(app)
    launch_ms = sorted(_launch_once.elapsed)[len(_launch_once.elapsed) // 2] * 1000  # type: ignore[attr-defined]
    raw_ms = sorted(_raw_launch.elapsed)[len(_raw_launch.elapsed) // 2] * 1000  # type: ignore[attr-defined]
    report(f"launch_{LAUNCH}_person_mobilization[large]", launch_ms, "ms", baseline=raw_ms,
           baseline_name="raw INSERT...SELECT")

    fake, url = _start_fake()
    try:
        bare = _bare_loop(url, BARE * 2, THREADS)
        pipeline, sent = _dispatch(app, url)
    finally:
        fake.kill()
        fake.wait()
    report(f"dispatch_{DISPATCH}_texts[large]", pipeline, "msg/s", baseline=bare,
           baseline_name=f"bare client.messages.create loop, {THREADS} threads, {LATENCY * 1000:.0f} ms fake",
           extra="" if sent == DISPATCH else f"only {sent} sent within the budget")

    fake, url = _start_fake("--rate-limit-every", "10")
    try:
        paced, _ = _dispatch(app, url, pace=PACE, budget=PACED_SECONDS)
    finally:
        fake.kill()
        fake.wait()
    report("dispatch_with_10pct_429[large]", paced, "msg/s", baseline=PACE, baseline_name="configured pace")
