"""Configuration classes, chosen by ``ORGANIZER_ENV`` (development, testing, production).

Every setting that differs between machines is read from the environment when the
app is created, never at import time, so tests and the CLI can set their own.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("ORGANIZER_INSTANCE", BASE_DIR / "instance"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment."""

    def __init__(self) -> None:
        self.SECRET_KEY = os.environ.get("SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'organizer.sqlite3'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
        self.BABEL_DEFAULT_LOCALE = "en"
        self.BABEL_DEFAULT_TIMEZONE = "UTC"
        self.LANGUAGES = {"en": "English", "es": "Español"}
        self.DEFAULT_PHONE_REGION = os.environ.get("DEFAULT_PHONE_REGION", "US")
        self.PEOPLE_PER_PAGE = int(os.environ.get("PEOPLE_PER_PAGE", "50"))
        # People import (organizer/people/importing.py): the largest CSV and the most rows per
        # file; requests larger than MAX_CONTENT_LENGTH are refused before anything reads them.
        self.PEOPLE_IMPORT_MAX_BYTES = int(os.environ.get("PEOPLE_IMPORT_MAX_BYTES", str(30_000_000)))
        self.PEOPLE_IMPORT_MAX_ROWS = int(os.environ.get("PEOPLE_IMPORT_MAX_ROWS", "100000"))
        self.PEOPLE_IMPORT_DIR = os.environ.get("PEOPLE_IMPORT_DIR", str(INSTANCE_DIR / "imports"))
        # Larger uploads are checked and imported by the worker, with a progress bar (no preview).
        self.PEOPLE_IMPORT_BACKGROUND_BYTES = int(os.environ.get("PEOPLE_IMPORT_BACKGROUND_BYTES", str(1_000_000)))
        self.MAX_CONTENT_LENGTH = self.PEOPLE_IMPORT_MAX_BYTES + 1_000_000
        # Login throttling (organizer/auth/throttle.py): after LOGIN_MAX_FAILURES failures for
        # one email from one address, or LOGIN_ADDRESS_MAX_FAILURES from one address, within
        # LOGIN_WINDOW_SECONDS, that pair or address waits until the window has passed; an email
        # failing from many addresses makes new addresses wait longer and longer, never its
        # owner's own address. Two-factor codes: LOGIN_MAX_FAILURES per user and window.
        self.LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
        self.LOGIN_ADDRESS_MAX_FAILURES = int(os.environ.get("LOGIN_ADDRESS_MAX_FAILURES", "20"))
        self.LOGIN_WINDOW_SECONDS = int(os.environ.get("LOGIN_WINDOW_SECONDS", "900"))
        # Login tries (account, address, outcome) are kept this many days for looking into an
        # attack, then forgotten with the counters of addresses that never signed in (daily, by the
        # worker): an address is personal data, and a spray of addresses would grow the tables forever.
        self.LOGIN_RECORDS_KEEP_DAYS = int(os.environ.get("LOGIN_RECORDS_KEEP_DAYS", "90"))
        # Keys sealing two-factor secrets at rest (organizer/auth/sealed.py), comma-separated, the
        # sealing one first; empty: one derived from SECRET_KEY.
        self.TOTP_SECRET_KEYS = os.environ.get("TOTP_SECRET_KEYS", "")
        # Nightly copies of the SQLite database (organizer/backups/): where, and how many are kept
        # (0: none). `flask backup` makes one at any time.
        self.BACKUP_DIR = os.environ.get("BACKUP_DIR", str(INSTANCE_DIR / "backups"))
        self.BACKUP_KEEP = int(os.environ.get("BACKUP_KEEP", "14"))
        # Public sign-up page (organizer/actions/services.py): per action, one address may send
        # SIGNUP_MAX_ATTEMPTS for the same phone or email and SIGNUP_MAX_PER_ADDRESS in all within
        # SIGNUP_WINDOW_SECONDS (a house meeting on one Wi-Fi signs up many people); past
        # SIGNUP_HOURLY_CAP sign-ups in an hour from all addresses, new ones wait for staff review.
        self.SIGNUP_MAX_ATTEMPTS = int(os.environ.get("SIGNUP_MAX_ATTEMPTS", "5"))
        self.SIGNUP_MAX_PER_ADDRESS = int(os.environ.get("SIGNUP_MAX_PER_ADDRESS", "60"))
        self.SIGNUP_WINDOW_SECONDS = int(os.environ.get("SIGNUP_WINDOW_SECONDS", "600"))
        self.SIGNUP_HOURLY_CAP = int(os.environ.get("SIGNUP_HOURLY_CAP", "100"))
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_DURATION = timedelta(days=30)
        # Strict-Transport-Security is sent only where the site is served over HTTPS (production).
        self.HSTS_SECONDS = 0
        self.PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host.
        # Without this, behind a proxy every visitor has the proxy's address, and login
        # throttling by address would lock everybody out at once.
        self.TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
        # SMS (see organizer/sms): which provider backend, and the task queue.
        self.SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
        # The console backend's durable list of what it printed (JSON lines), so a killed
        # worker never prints a text twice; "" keeps it in memory (tests).
        self.SMS_CONSOLE_LOG = os.environ.get("SMS_CONSOLE_LOG", str(INSTANCE_DIR / "sms-console.jsonl"))
        self.TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
        self.TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
        self.TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
        self.TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
        self.TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")
        self.TWILIO_TIMEOUT = float(os.environ.get("TWILIO_TIMEOUT", "10"))
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.HUEY_SQLITE_PATH = os.environ.get("HUEY_SQLITE_PATH", str(INSTANCE_DIR / "huey.sqlite3"))
        self.HUEY_IMMEDIATE = _env_bool("HUEY_IMMEDIATE", False)
        # SMS sending (organizer/sms/sending.py explains each).
        self.SMS_SEGMENTS_PER_SECOND = os.environ.get("SMS_SEGMENTS_PER_SECOND", "")  # "": by sender type
        self.SMS_DISPATCH_WORKERS = int(os.environ.get("SMS_DISPATCH_WORKERS", "4"))
        self.SMS_MAX_ATTEMPTS = int(os.environ.get("SMS_MAX_ATTEMPTS", "8"))
        self.SMS_SENDING_STALE_SECONDS = float(os.environ.get("SMS_SENDING_STALE_SECONDS", "120"))
        self.SMS_UNKNOWN_AFTER_SECONDS = float(os.environ.get("SMS_UNKNOWN_AFTER_SECONDS", "3600"))
        # Seconds after an ambiguous send (5xx, lost answer) its sender looks for it in Twilio's
        # message list (0: only the sweep does, after SMS_SENDING_STALE_SECONDS).
        self.SMS_AMBIGUOUS_RECHECK_SECONDS = float(os.environ.get("SMS_AMBIGUOUS_RECHECK_SECONDS", "2"))
        self.SMS_PRICE_PER_SEGMENT = os.environ.get("SMS_PRICE_PER_SEGMENT", "0.0083")
        self.SMS_QUIET_HOURS = os.environ.get("SMS_QUIET_HOURS", "21:00-08:00")
        self.SMS_MAX_VALIDITY_SECONDS = int(os.environ.get("SMS_MAX_VALIDITY_SECONDS", "14400"))
        self.SMS_REMINDER_OFFSETS = os.environ.get("SMS_REMINDER_OFFSETS", "24h,2h")
        self.SMS_PAUSE_THRESHOLD = int(os.environ.get("SMS_PAUSE_THRESHOLD", "20"))
        # "Send me a test" texts one user may send in 24 hours (only to their own numbers).
        self.SMS_TEST_SENDS_PER_DAY = int(os.environ.get("SMS_TEST_SENDS_PER_DAY", "10"))
        # Reports (organizer/reports): counts from 1 to this minus one are never shown.
        self.REPORTS_SUPPRESSION_THRESHOLD = int(os.environ.get("REPORTS_SUPPRESSION_THRESHOLD", "5"))
        # Reports' counts are cached per process until the data they count changes (organizer/reports/cache.py).
        self.REPORTS_CACHE = os.environ.get("REPORTS_CACHE", "1") != "0"
        # How long the answer to a STOP may wait for a send to that number already under way.
        self.SMS_STOP_SETTLE_SECONDS = float(os.environ.get("SMS_STOP_SETTLE_SECONDS", "10"))
        # The network graph (/pipeline/network) draws at most this many nodes and edges: beyond
        # them a browser (a phone above all) stalls, so the page keeps the most connected and says so.
        self.NETWORK_MAX_NODES = int(os.environ.get("NETWORK_MAX_NODES", "200"))
        self.NETWORK_MAX_EDGES = int(os.environ.get("NETWORK_MAX_EDGES", "1000"))


class DevelopmentConfig(Config):
    """Local development: ``make run``. A throwaway secret is generated per instance folder."""

    def __init__(self) -> None:
        super().__init__()
        self.DEBUG = True
        if not self.SECRET_KEY:
            self.SECRET_KEY = _instance_secret()


class TestingConfig(Config):
    """The test suite: CSRF stays on (tests submit real tokens), SMS goes to the console backend."""

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.SECRET_KEY = self.SECRET_KEY or "testing-only-secret"
        self.SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
        self.SMS_CONSOLE_LOG = os.environ.get("SMS_CONSOLE_LOG", "")
        self.HUEY_IMMEDIATE = True
        # Ambiguous sends stay for the sweep, as the sweep's tests expect; the tests of the
        # quick recheck turn it on.
        self.SMS_AMBIGUOUS_RECHECK_SECONDS = 0.0
        # Scrypt costs about a second a hash on a loaded machine, and the suite makes and signs
        # in thousands of accounts; production keeps Werkzeug's default (a test checks it).
        self.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
        # Off, so every request runs the queries it would run cold (the fixed-query-count tests
        # compare requests); the cache's own tests turn it on.
        self.REPORTS_CACHE = os.environ.get("REPORTS_CACHE", "0") != "0"


class ProductionConfig(Config):
    """Production: refuses to start without a real secret key; cookies only over HTTPS."""

    def __init__(self) -> None:
        super().__init__()
        if not self.SECRET_KEY or len(self.SECRET_KEY) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to a random string of at least 32 characters in production"
            )
        self.SESSION_COOKIE_SECURE = True
        self.REMEMBER_COOKIE_SECURE = True
        self.PREFERRED_URL_SCHEME = "https"
        self.HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 3600)))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> Config:
    """Build the config object for ``name`` (default: ``ORGANIZER_ENV`` or development)."""
    name = name or os.environ.get("ORGANIZER_ENV", "development")
    try:
        config = CONFIGS[name]()
    except KeyError:
        raise ValueError(f"unknown ORGANIZER_ENV {name!r}; use one of {sorted(CONFIGS)}") from None
    config.ORGANIZER_ENV = name  # commands that must never run in production ask for it
    return config


def _instance_secret() -> str:
    """A random secret kept in the instance folder, so development sessions survive restarts."""
    import secrets

    path = INSTANCE_DIR / "dev-secret-key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()
