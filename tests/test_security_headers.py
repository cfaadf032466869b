"""Production hardening: security headers on every response, no-store on pages and exports,
templates that a strict Content-Security-Policy does not break, gunicorn's settings, and no
demo data in production."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split(" ", 1)[1] if " " in d else "" for d in (p.strip() for p in policy.split(";"))}


@pytest.mark.parametrize("url", ["/login", "/people/", "/people/export.csv", "/account", "/no-such-page"])
def test_every_page_and_export_has_the_security_headers_and_is_not_stored(make_user, login_as, url):
    response = login_as(make_user("organizer")).client.get(url)
    csp = _csp(response)
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    response = client.get("/static/css/organizer.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()


def test_hsts_in_production_only(client, monkeypatch):
    from organizer import create_app

    response = client.get("/static/css/organizer.css")
    assert "Strict-Transport-Security" not in response.headers
    response.close()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    production = create_app("production")
    response = production.test_client().get("/static/css/organizer.css")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    response.close()


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I), "on*= event handler"),
    (re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"<style[\s>]", re.I), "<style> block"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_has_what_the_content_security_policy_blocks():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not found, "\n".join(found)


def test_seed_demo_refuses_to_run_in_production(database_url, monkeypatch):
    from sqlalchemy import func, select

    from organizer import create_app
    from organizer.auth.models import User
    from organizer.extensions import db

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    production = create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url})
    result = production.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refuses to run in production" in result.output
    with production.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        db.session.remove()
        db.engine.dispose()


def test_gunicorn_config_listens_on_loopback_with_threads():
    import runpy

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["bind"] == ["127.0.0.1:8000"]
    assert settings["worker_class"] == "gthread" and settings["workers"] >= 2
    assert settings["timeout"] > 0 and settings["graceful_timeout"] > 0
    assert "%(U)s" in settings["access_log_format"]
    assert not {"%(r)s", "%(q)s", "%(u)s"} & set(re.findall(r"%\(\w+\)s", settings["access_log_format"]))


def test_gunicorn_workers_set_the_loaded_app_aside_from_the_garbage_collector():
    import gc
    import runpy

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    try:
        settings["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_gunicorn_logs_requests_without_their_query_strings(tmp_path, free_port):
    """Gunicorn itself, with the repository's config, serving a file: the log has the path only."""
    env = {"GUNICORN_BIND": f"127.0.0.1:{free_port}", "GUNICORN_WORKERS": "1", "ORGANIZER_ENV": "testing",
           "PATH": "/usr/bin:/bin", "SMS_BACKEND": "console"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _n in range(300):  # the worker may take a while to start on a busy machine
            try:
                requests.get(f"http://127.0.0.1:{free_port}/static/css/organizer.css?q=Rosa+Martinez+3125550101",
                             timeout=30)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        time.sleep(0.3)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    access = [line for line in output.splitlines() if "/static/css/organizer.css" in line]
    assert access and '"GET /static/css/organizer.css HTTP/1.1" 200' in access[0]
    assert "Rosa" not in output and "3125550101" not in output


@pytest.fixture
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
