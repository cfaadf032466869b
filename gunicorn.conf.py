"""Gunicorn settings for production (README, "Running in production").

    ORGANIZER_ENV=production gunicorn -c gunicorn.conf.py

Listens on the loopback address only: the HTTPS proxy in front is the one way in, so nobody
can reach the app directly and forge the X-Forwarded-For header that TRUSTED_PROXIES trusts
(login throttling counts by that address). ``GUNICORN_BIND=unix:/run/organizer/web.sock``
serves on a unix socket instead.
"""

import gc
import multiprocessing
import os

wsgi_app = "organizer:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

# Threads: requests mostly wait on the database; a few processes per core with threads each.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# A request taking longer than this (a large CSV import is the slowest) is stuck: restart
# its worker. On a restart or deploy, requests under way get this long to finish.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5

# Access log on standard output: the path without its query string (%(U)s, never %(r)s or
# %(q)s), since searches, sign-up links and filters put names and phone numbers in queries.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"


def post_worker_init(worker):
    """The worker has loaded the app: its modules, routes, translations and models live as long
    as the process. Set them aside from the garbage collector (``gc.freeze``), which would
    otherwise walk those few hundred thousand objects again in each full collection: on the
    person page that was 0.75 ms of collecting per request on average, 0.11 ms once frozen."""
    gc.collect()
    gc.freeze()
