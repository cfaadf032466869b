"""Many clients at once against a running server: ``python -m bench.load [CLIENTS] [SECONDS]``.

Not part of ``make bench`` (it needs a server): README, "Running in production", says how it was
run against gunicorn on PostgreSQL with the large shape (``BENCH_DATABASE_URL``). Each client
signs in as the bench's organizer and asks for pages and exports in a fixed mix, reading every
answer to its end, as a browser or a spreadsheet download would. It prints, per kind of
request, how many were answered and how long they took, and how many got no answer at all
(a connection refused or reset, or nothing within ``TIMEOUT`` seconds): the figure that must
stay at zero.

The server is reached as the HTTPS proxy in front of it would reach it (``X-Forwarded-Proto``,
so set ``TRUSTED_PROXIES=1``); the session cookie, sent only over HTTPS, is passed by hand.
"""

from __future__ import annotations

import collections
import os
import random
import re
import statistics
import sys
import threading
import time

import requests

BASE = os.environ.get("LOAD_BASE_URL", "http://127.0.0.1:8000")
EMAIL = os.environ.get("LOAD_EMAIL", "organizer1@bench.local")
PASSWORD = os.environ.get("LOAD_PASSWORD", "bench-password")
TIMEOUT = 120
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1", "Referer": "https://127.0.0.1:8000/login"}
# (name, path, weight): mostly pages, some exports of the whole base.
MIX = [
    ("home", "/", 10), ("people_list", "/people/", 10), ("people_search", "/people/?q=mar", 10),
    ("person", "/people/{person}", 15), ("action", "/actions/{action}", 10), ("board", "/pipeline/board", 5),
    ("turnout", "/actions/{action}/turnout", 5), ("sms_list", "/sms/", 3), ("sms_inbox", "/sms/inbox", 5),
    ("equity", "/reports/equity", 2), ("people_export", "/people/export.csv", 2),
    ("turnout_csv", "/actions/{action}/turnout.csv", 2), ("equity_csv", "/reports/equity.csv", 1),
]


def sign_in() -> str:
    """A signed-in session's Cookie header."""
    page = requests.get(f"{BASE}/login", headers=PROXY, timeout=TIMEOUT)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    answer = requests.post(f"{BASE}/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)},
                           headers={**PROXY, "Cookie": cookie}, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302, f"sign-in failed: {answer.status_code}"
    return "; ".join(f"{k}={v}" for k, v in {**page.cookies, **answer.cookies}.items())


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 180
    took: dict[str, list[float]] = collections.defaultdict(list)
    statuses: collections.Counter = collections.Counter()
    unanswered: collections.Counter = collections.Counter()
    lock = threading.Lock()
    weighted = [(name, path) for name, path, weight in MIX for _ in range(weight)]
    cookies = [sign_in() for _ in range(5)]
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(n)  # noqa: S311 - a load mix
        while time.monotonic() < deadline:
            name, path = rng.choice(weighted)
            url = BASE + path.format(person=rng.randint(1, 100_000), action=rng.randint(1, 100))
            started = time.perf_counter()
            try:
                with requests.get(url, headers={**PROXY, "Cookie": cookies[n % len(cookies)]}, stream=True,
                                  allow_redirects=False, timeout=TIMEOUT) as answer:
                    for _ in answer.iter_content(65536):
                        pass
                with lock:
                    statuses[answer.status_code] += 1
                    took[name].append(time.perf_counter() - started)
            except requests.RequestException as error:
                with lock:
                    unanswered[(name, type(error).__name__)] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{clients} clients for {time.monotonic() - started:.0f} s")
    for name in sorted(took):
        times = sorted(took[name])
        print(f"{name}: {len(times)} answered, median {statistics.median(times) * 1000:.0f} ms, "
              f"p95 {times[int(len(times) * 0.95)] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
    print("answers by status:", dict(sorted(statuses.items())))
    print(f"no answer: {sum(unanswered.values())}", dict(unanswered) if unanswered else "")


if __name__ == "__main__":
    main()
