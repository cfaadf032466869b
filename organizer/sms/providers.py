"""The provider seam: send a text and look up recent texts, via a backend
chosen by configuration (``SMS_BACKEND``).

Every failure surfaces as a :class:`SendError` subclass that tells the caller
what it may do next:

===========================  ============================================  ==========================
class                        raised for                                    caller should
===========================  ============================================  ==========================
:class:`RetryableSendError`  HTTP 429 / code 20429, HTTP 503, 21611        retry later (``retry_after``
                             (sender queue full), a connection that        seconds if known)
                             could not be opened (nothing was sent)
:class:`OptedOutError`       21610 (recipient replied STOP)                mark the person opted out
:class:`InvalidNumberError`  21211 (invalid To), 21614 (not a mobile)      mark the number bad
:class:`PermanentSendError`  21617, 30003, 30005, 30006, 30007, any        fail the message
                             other 4xx (including 401 bad credentials)
:class:`AmbiguousSendError`  read timeout after the request went out,      reconcile with
                             a connection dropped mid-request, a TLS       :meth:`SmsBackend.list_recent`;
                             failure, other 5xx, an unreadable 2xx         NEVER retry blindly
===========================  ============================================  ==========================

503 is treated as retryable because it means the service refused the request
(overload, maintenance) before accepting it; 500/502/504 may come from a
gateway after the message was accepted, hence ambiguous.

Only this package imports ``twilio``.
"""

from __future__ import annotations

import email.utils
import fcntl
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from organizer.sms.quiet_hours import TWILIO_MAX_VALIDITY_SECONDS

__all__ = [
    "BACKENDS",
    "AmbiguousSendError",
    "ConsoleBackend",
    "InvalidNumberError",
    "OptedOutError",
    "PermanentSendError",
    "ProviderMessage",
    "RetryableSendError",
    "SendError",
    "SendRequest",
    "SendResult",
    "SmsBackend",
    "TwilioBackend",
    "error_for",
    "make_backend",
]

log = logging.getLogger(__name__)

OPTED_OUT_CODES = frozenset({21610})
INVALID_NUMBER_CODES = frozenset({21211, 21614})
PERMANENT_CODES = frozenset({21617, 30003, 30005, 30006, 30007})
# 20429: too many requests; 21611: the sender's queue is full.
RETRYABLE_CODES = frozenset({20429, 21611})

MAX_VALIDITY_PERIOD = TWILIO_MAX_VALIDITY_SECONDS


# --- errors -----------------------------------------------------------------


class SendError(Exception):
    """A text could not be sent (or we cannot tell whether it was).

    ``code`` is the provider's error code when there is one (Twilio's 21610,
    20429...), ``None`` for network failures.
    """

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"[{code}] {message}" if code is not None else message)
        self.code = code
        self.message = message


class RetryableSendError(SendError):
    """Nothing was sent; trying again later is safe."""

    def __init__(self, code: int | None, message: str, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class OptedOutError(SendError):
    """The recipient opted out (replied STOP) of texts from this sender."""


class InvalidNumberError(SendError):
    """The number is not a valid, textable mobile number."""


class PermanentSendError(SendError):
    """The provider refused this text; sending it again will fail again."""


class AmbiguousSendError(SendError):
    """The request may or may not have created a message.

    Retrying blindly can text the person twice: look the message up with
    :meth:`SmsBackend.list_recent` first.
    """


def error_for(status: int | None, code: int | None, message: str, retry_after: float | None = None) -> SendError:
    """Map a provider answer (HTTP ``status``, error ``code``) to a SendError.

    Also usable for the ``ErrorCode`` of a failed status callback
    (``status=None``). Raises nothing; returns the exception to raise.
    """
    if code in OPTED_OUT_CODES:
        return OptedOutError(code, message)
    if code in INVALID_NUMBER_CODES:
        return InvalidNumberError(code, message)
    if code in RETRYABLE_CODES or status in (429, 503):
        return RetryableSendError(code, message, retry_after)
    if code in PERMANENT_CODES:
        return PermanentSendError(code, message)
    if status is not None and 400 <= status < 500:
        return PermanentSendError(code, message)
    return AmbiguousSendError(code, message)


# --- data -------------------------------------------------------------------


@dataclass(frozen=True)
class SendRequest:
    """One text to send.

    ``outbox_id`` ties the text to its outbox row (for logs and
    reconciliation). ``validity_period`` is seconds Twilio may queue it.

    Raises:
        ValueError: on an empty ``to`` or a validity period outside 1..36000.
    """

    to: str
    body: str
    outbox_id: int
    status_callback: str | None = None
    validity_period: int | None = None

    def __post_init__(self) -> None:
        if not self.to:
            raise ValueError("SendRequest.to is empty")
        if self.validity_period is not None and not 1 <= self.validity_period <= MAX_VALIDITY_PERIOD:
            raise ValueError(f"validity_period must be 1..{MAX_VALIDITY_PERIOD}")


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the text: its id, status and billed segments."""

    sid: str
    status: str
    segments: int | None = None


@dataclass(frozen=True)
class ProviderMessage:
    """A text as the provider records it (for reconciliation)."""

    sid: str
    to: str
    body: str
    status: str
    date_created: datetime | None


# --- backends ---------------------------------------------------------------


class SmsBackend:
    """Base class of SMS providers."""

    name = "base"

    def send(self, req: SendRequest) -> SendResult:
        """Send one text.

        Raises:
            SendError: one of its subclasses; see the module docstring.
        """
        raise NotImplementedError

    def list_recent(self, to: str, since: datetime) -> list[ProviderMessage]:
        """Texts sent to ``to`` created at or after ``since`` (aware datetime),
        newest first; used to settle outbox rows left in "sending". Pass a
        ``since`` a minute or so before the send attempt began: provider
        clocks and ours differ, and a duplicate text is worse than a longer list.

        Raises:
            RetryableSendError: the lookup failed and may be tried again.
            PermanentSendError: the provider refused the lookup (e.g. 401).
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release network resources. Raises nothing."""


class ConsoleBackend(SmsBackend):
    """Development and test backend: logs texts instead of sending them.

    ``sent`` holds a :class:`ProviderMessage` per text and ``requests`` the
    matching :class:`SendRequest`. :meth:`fail_next` makes the next sends
    raise, to exercise error handling without a network.

    With ``record_path`` (``SMS_CONSOLE_LOG``; set in development) every text
    is also appended to that file, one JSON line, flushed to disk BEFORE it is
    printed, and :meth:`list_recent` reads the file: the console's own durable
    message list, shared by every worker process and surviving a crash. So the
    sweep reconciles a text the killed worker printed but never recorded, just
    as it does from Twilio's list, and the outbox never prints it twice. (A
    worker killed between the two steps leaves a text recorded but unprinted:
    at most once, as with a provider that accepted a message and then lost it.)
    Without it, memory only (tests).
    """

    name = "console"

    def __init__(self, logger: logging.Logger | None = None,
                 record_path: str | os.PathLike[str] | None = None) -> None:
        self.logger = logger or log
        self.record_path = Path(record_path) if record_path else None
        self.sent: list[ProviderMessage] = []
        self.requests: list[SendRequest] = []
        self._failures: list[SendError] = []
        self._lock = threading.Lock()

    def fail_next(self, error: SendError, times: int = 1) -> None:
        """Make the next ``times`` calls to :meth:`send` raise ``error``."""
        with self._lock:
            self._failures.extend([error] * times)

    def send(self, req: SendRequest) -> SendResult:
        """Record the text (durably first, with ``record_path``), then log it. Raises only
        errors set by fail_next, or OSError when the record cannot be written (nothing is
        printed then: the send did not happen)."""
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            sid = "CONSOLE" + secrets.token_hex(16)
            message = ProviderMessage(sid, req.to, req.body, "sent", datetime.now(UTC))
            if self.record_path is not None:
                self._append_record(message, req.outbox_id)
            self.sent.append(message)
            self.requests.append(req)
        self.logger.info("SMS to %s (outbox %s, %s):\n%s", req.to, req.outbox_id, sid, req.body)
        return SendResult(sid=sid, status="sent", segments=None)

    def list_recent(self, to: str, since: datetime) -> list[ProviderMessage]:
        """Texts to ``to`` since ``since``, newest first: from the durable record when there
        is one (every process's texts), else from memory."""
        if self.record_path is not None:
            found = [m for m in self._read_records() if m.to == to and m.date_created and m.date_created >= since]
            return sorted(found, key=lambda m: m.date_created or since, reverse=True)
        with self._lock:
            found = [m for m in self.sent if m.to == to and m.date_created and m.date_created >= since]
        return found[::-1]

    def _append_record(self, message: ProviderMessage, outbox_id: int) -> None:
        assert self.record_path is not None  # noqa: S101 - callers check
        line = json.dumps({"sid": message.sid, "to": message.to, "body": message.body, "outbox_id": outbox_id,
                           "date_created": message.date_created.isoformat() if message.date_created else None})
        self.record_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.record_path, "a", encoding="utf-8") as record:
            fcntl.flock(record, fcntl.LOCK_EX)  # several worker processes append to one file
            record.write(line + "\n")
            record.flush()
            os.fsync(record.fileno())

    def _read_records(self) -> list[ProviderMessage]:
        assert self.record_path is not None  # noqa: S101 - callers check
        try:
            with open(self.record_path, encoding="utf-8") as record:
                fcntl.flock(record, fcntl.LOCK_SH)
                lines = record.read().splitlines()
        except FileNotFoundError:
            return []
        messages = []
        for line in lines:
            try:
                data = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash mid-write: that text was never printed
            created = datetime.fromisoformat(data["date_created"]) if data.get("date_created") else None
            messages.append(ProviderMessage(data["sid"], data["to"], data["body"], "sent", created))
        return messages


class _RedirectingHttpClient(TwilioHttpClient):
    """TwilioHttpClient that can point *.twilio.com at another base URL (a
    local fake) and remembers each thread's last response headers so a
    ``Retry-After`` can be read after the twilio library raised.
    """

    def __init__(self, base_url: str | None, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/") if base_url else None
        self._local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self._local.headers = {}
        if self.base_url:
            parts = urlsplit(url)
            if parts.hostname and (parts.hostname == "twilio.com" or parts.hostname.endswith(".twilio.com")):
                url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        response = super().request(method, url, *args, **kwargs)
        self._local.headers = response.headers or {}
        return response

    def last_header(self, name: str) -> str | None:
        headers = getattr(self._local, "headers", None) or {}
        # requests gives a case-insensitive mapping; be safe with plain dicts.
        for key, value in headers.items():
            if key.lower() == name.lower():
                return str(value)
        return None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class TwilioBackend(SmsBackend):
    """Sends through Twilio's Messages API with the official client.

    Give ``messaging_service_sid`` (preferred: sender pool, Advanced Opt-Out)
    or ``from_number``. ``api_base_url`` redirects every *.twilio.com request,
    for a local fake. Requests never retry on their own and always time out.

    Raises:
        ValueError: if credentials or a sender are missing, or timeout <= 0.
    """

    name = "twilio"

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        api_base_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("TwilioBackend needs account_sid and auth_token")
        if not messaging_service_sid and not from_number:
            raise ValueError("TwilioBackend needs messaging_service_sid or from_number")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.messaging_service_sid = messaging_service_sid
        self.from_number = from_number
        self._http = _RedirectingHttpClient(api_base_url, timeout)
        self.client = Client(account_sid, auth_token, http_client=self._http)

    def send(self, req: SendRequest) -> SendResult:
        """Create the message at Twilio.

        Raises:
            SendError: a subclass, per the table in the module docstring.
        """
        params: dict[str, Any] = {"to": req.to, "body": req.body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        if req.status_callback:
            params["status_callback"] = req.status_callback
        if req.validity_period is not None:
            params["validity_period"] = req.validity_period
        with self._translate_errors(idempotent=False):
            message = self.client.messages.create(**params)
        log.info("Twilio accepted outbox %s as %s (%s)", req.outbox_id, message.sid, message.status)
        return SendResult(
            sid=str(message.sid),
            status=str(message.status),
            segments=_to_int(message.num_segments),
        )

    def list_recent(self, to: str, since: datetime) -> list[ProviderMessage]:
        """Texts to ``to`` created since ``since``, newest first.

        Twilio can filter on DateSent only, and a message still queued at
        Twilio has no DateSent yet; so the DateSent query is merged with the
        latest texts to that number, then filtered on DateCreated.

        Raises:
            RetryableSendError: network failure, 5xx or 429 (a lookup is
                safe to repeat).
            PermanentSendError: any other 4xx (e.g. bad credentials).
        """
        # Twilio timestamps have whole seconds; don't miss a text created in
        # the same second as ``since``.
        since = since.replace(microsecond=0)
        with self._translate_errors(idempotent=True):
            found = self.client.messages.list(to=to, date_sent_after=since, limit=200)
            found += self.client.messages.list(to=to, limit=50)
        by_sid = {}
        for m in found:
            if m.date_created is None or m.date_created >= since:
                by_sid[m.sid] = ProviderMessage(
                    sid=str(m.sid), to=str(m.to), body=str(m.body or ""),
                    status=str(m.status), date_created=m.date_created,
                )  # fmt: skip
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(by_sid.values(), key=lambda m: m.date_created or epoch, reverse=True)

    def close(self) -> None:
        """Close pooled connections. Raises nothing."""
        self._http.close()

    def _retry_after(self) -> float | None:
        return _parse_retry_after(self._http.last_header("Retry-After"))

    @contextmanager
    def _translate_errors(self, idempotent: bool) -> Iterator[None]:
        """Turn twilio/requests exceptions into SendError subclasses.

        For an ``idempotent`` call (a read) an ambiguous outcome is just a
        retryable failure.
        """
        try:
            try:
                yield
            except (TwilioRestException, TwilioServiceException) as exc:
                raise error_for(exc.status, exc.code, _message_of(exc), self._retry_after()) from exc
            except requests.exceptions.ConnectTimeout as exc:
                raise RetryableSendError(None, f"connect timeout: {exc}") from exc
            except requests.exceptions.ConnectionError as exc:
                if _never_connected(exc):
                    raise RetryableSendError(None, f"connection failed: {exc}") from exc
                raise AmbiguousSendError(None, f"connection lost mid-request: {exc}") from exc
            except (requests.exceptions.RequestException, TwilioException) as exc:
                # ReadTimeout and friends: the request went out, answer unknown.
                raise AmbiguousSendError(None, f"{type(exc).__name__}: {exc}") from exc
        except AmbiguousSendError as exc:
            if idempotent:
                raise RetryableSendError(exc.code, exc.message) from exc
            raise


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP (or TLS) connection was never opened, so nothing of
    the request reached the server. requests wraps urllib3's MaxRetryError
    whose reason is a NewConnectionError/ConnectTimeoutError (DNS failure,
    refused, unreachable); a connection dropped after sending instead
    surfaces as a ProtocolError.
    """
    cause = exc.args[0] if exc.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, ConnectTimeoutError)


def _message_of(exc: TwilioRestException | TwilioServiceException) -> str:
    text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", None)
    return str(text or type(exc).__name__)


def _to_int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# --- registry ---------------------------------------------------------------


def _make_console(config: Mapping[str, Any]) -> SmsBackend:
    return ConsoleBackend(record_path=config.get("SMS_CONSOLE_LOG") or None)


def _make_twilio(config: Mapping[str, Any]) -> SmsBackend:
    missing = [k for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not config.get(k)]
    if not config.get("TWILIO_MESSAGING_SERVICE_SID") and not config.get("TWILIO_FROM_NUMBER"):
        missing.append("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
    if missing:
        raise ValueError("SMS_BACKEND='twilio' needs " + ", ".join(missing))
    raw_timeout = config.get("TWILIO_TIMEOUT")
    if raw_timeout is None or raw_timeout == "":
        raw_timeout = 10.0
    try:
        timeout = float(raw_timeout)
    except (TypeError, ValueError):
        raise ValueError(f"TWILIO_TIMEOUT must be a number of seconds, not {raw_timeout!r}") from None
    if timeout <= 0:
        raise ValueError("TWILIO_TIMEOUT must be positive")
    return TwilioBackend(
        account_sid=config["TWILIO_ACCOUNT_SID"],
        auth_token=config["TWILIO_AUTH_TOKEN"],
        messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID") or None,
        from_number=config.get("TWILIO_FROM_NUMBER") or None,
        api_base_url=config.get("TWILIO_API_BASE_URL") or None,
        timeout=timeout,
    )


#: Backend factories by ``SMS_BACKEND`` name.
BACKENDS: dict[str, Callable[[Mapping[str, Any]], SmsBackend]] = {
    "console": _make_console,
    "twilio": _make_twilio,
}


def make_backend(config: Mapping[str, Any]) -> SmsBackend:
    """Build the backend named by ``config["SMS_BACKEND"]`` (default "console").

    Raises:
        ValueError: for an unknown backend name, or missing/invalid Twilio
            settings (the message names the missing keys).
    """
    name = str(config.get("SMS_BACKEND") or "console").strip().lower()
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown SMS_BACKEND {name!r}; choose one of {sorted(BACKENDS)}") from None
    return factory(config)
