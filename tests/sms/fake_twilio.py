"""A local stand-in for Twilio's Messages API, good enough for the real
``twilio`` client.

Build it with :func:`make_fake_twilio`, serve it with
``tests.support.live.serve`` and point ``TwilioBackend(api_base_url=...)`` at
it. Tests steer it through methods on the returned app (all thread-safe):
``fail_next``, ``fail_after_recording_next``, ``delay_next``,
``error_for_number``, ``messages``, ``count_by_to`` and
``send_status_callbacks``; ``latency`` (seconds every create takes, as the real API takes
about a tenth of a second) and ``rate_limit_every`` (every n-th create answered 429, with
``retry_after`` when set) shape it for benchmarks.

Standalone, for demos: ``python -m tests.sms.fake_twilio --port 8765``.
"""

from __future__ import annotations

import argparse
import base64
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Flask, Response, jsonify, request
from twilio.request_validator import RequestValidator

API = "/2010-04-01/Accounts/<acct>"
STATUS_ERRORS = {"failed", "undelivered"}

#: ``transport(url, form, headers) -> HTTP status`` delivers one callback.
Transport = Callable[[str, dict[str, str], dict[str, str]], int]


@dataclass
class FakeMessage:
    """One message the fake accepted."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status: str
    status_callback: str | None
    validity_period: str | None
    date_created: datetime
    date_sent: datetime | None = None
    error_code: int | None = None
    form: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The resource as Twilio's API renders it."""
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": _rfc2822(self.date_created),
            "date_updated": _rfc2822(self.date_sent or self.date_created),
            "date_sent": _rfc2822(self.date_sent) if self.date_sent else None,
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "status": self.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": self.to,
            "uri": uri,
        }


class FakeTwilio(Flask):
    """The Flask app, plus the controls tests use."""

    def __init__(self, auth_token: str) -> None:
        super().__init__("fake_twilio")
        self.auth_token = auth_token
        self.lock = threading.Lock()
        self.messages: list[FakeMessage] = []
        self._fail_before: list[tuple[int, int, float | None]] = []
        self._fail_after: list[int] = []
        self._delays: list[float] = []
        self._number_errors: dict[str, tuple[int, int]] = {}
        self.latency = 0.0
        self.rate_limit_every = 0
        self.retry_after: float | None = None
        self._creates = 0

    # -- controls --------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 429, code: int = 20429, retry_after: float | None = None) -> None:
        """Answer the next ``n`` creates with an error, recording nothing."""
        with self.lock:
            self._fail_before.extend([(status, code, retry_after)] * n)

    def fail_after_recording_next(self, n: int = 1, status: int = 500) -> None:
        """Record the next ``n`` messages but answer with an error (the
        ambiguous case: the text exists, the client is told otherwise).
        """
        with self.lock:
            self._fail_after.extend([status] * n)

    def delay_next(self, seconds: float) -> None:
        """Record the next message, then wait ``seconds`` before answering."""
        with self.lock:
            self._delays.append(seconds)

    def error_for_number(self, to: str, code: int, status: int = 400) -> None:
        """Refuse every create to ``to`` with Twilio error ``code``."""
        with self.lock:
            self._number_errors[to] = (status, code)

    def count_by_to(self) -> dict[str, int]:
        """How many messages each number was sent."""
        with self.lock:
            return dict(Counter(m.to for m in self.messages))

    def send_status_callbacks(
        self,
        statuses: Iterable[str | tuple[str, int]] = ("sent", "delivered"),
        order: Iterable[tuple[str, str | tuple[str, int]]] | None = None,
        transport: Transport | None = None,
    ) -> list[tuple[str, str, int]]:
        """POST signed status callbacks to each message's StatusCallback.

        By default every message with a callback gets each of ``statuses`` in
        turn. ``order`` instead lists ``(sid, status)`` pairs to deliver
        exactly, e.g. "delivered" before "sent". A status may be given as
        ``("undelivered", 30007)`` to carry an ErrorCode. ``transport`` replaces
        the real HTTP POST (e.g. a Flask test client). Returns
        ``(sid, status, http_status)`` per callback.
        """
        with self.lock:
            by_sid = {m.sid: m for m in self.messages}
            if order is None:
                plan = [(m.sid, s) for m in self.messages if m.status_callback for s in statuses]
            else:
                plan = list(order)
        send = transport or _post
        results = []
        for sid, status in plan:
            name, code = (status, None) if isinstance(status, str) else status
            message = by_sid[sid]
            form = self._callback_form(message, name, code)
            url = message.status_callback or ""
            signature = RequestValidator(self.auth_token).compute_signature(url, form)
            results.append((sid, name, send(url, form, {"X-Twilio-Signature": signature})))
        return results

    def _callback_form(self, message: FakeMessage, status: str, code: int | None) -> dict[str, str]:
        with self.lock:
            message.status = status
            if status in ("sent", "delivered") and message.date_sent is None:
                message.date_sent = _now()
            if code is None and status in STATUS_ERRORS:
                code = message.error_code or 30003
            message.error_code = code
        form = {
            "AccountSid": message.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message.from_ or "",
            "MessageSid": message.sid,
            "MessageStatus": status,
            "SmsSid": message.sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            form["MessagingServiceSid"] = message.messaging_service_sid
        if code is not None:
            form["ErrorCode"] = str(code)  # Twilio sends it only on errors
        return form

    # -- request handling --------------------------------------------------

    def _authorized(self, acct: str) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == acct and password == self.auth_token

    def _take_failure_before(self, to: str) -> tuple[int, int, float | None] | None:
        with self.lock:
            self._creates += 1
            if self.rate_limit_every and self._creates % self.rate_limit_every == 0:
                return 429, 20429, self.retry_after
            if self._fail_before:
                return self._fail_before.pop(0)
            if to in self._number_errors:
                status, code = self._number_errors[to]
                return status, code, None
        return None

    def _record(self, acct: str, form: Mapping[str, str]) -> tuple[FakeMessage, float, int | None]:
        message = FakeMessage(
            sid="SM" + uuid.uuid4().hex,
            account_sid=acct,
            to=form.get("To", ""),
            from_=form.get("From"),
            messaging_service_sid=form.get("MessagingServiceSid"),
            body=form.get("Body", ""),
            status="accepted" if form.get("MessagingServiceSid") else "queued",
            status_callback=form.get("StatusCallback"),
            validity_period=form.get("ValidityPeriod"),
            date_created=_now(),
            form=dict(form),
        )
        with self.lock:
            self.messages.append(message)
            delay = self._delays.pop(0) if self._delays else 0.0
            fail_status = self._fail_after.pop(0) if self._fail_after else None
        return message, delay, fail_status


def make_fake_twilio(auth_token: str = "test-token") -> FakeTwilio:
    """Build the fake Twilio app; it accepts any account SID with this token."""
    fake = FakeTwilio(auth_token)

    @fake.before_request
    def check_auth() -> Response | tuple[Response, int] | None:
        acct = (request.view_args or {}).get("acct")
        if acct is not None and not fake._authorized(acct):
            return _error(401, 20003, "Authenticate")
        return None

    @fake.post(f"{API}/Messages.json")
    def create_message(acct: str) -> tuple[Response, int]:
        form = request.form
        if not form.get("To"):
            return _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("Body"):
            return _error(400, 21602, "Message body is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required.")
        if fake.latency:
            time.sleep(fake.latency)
        failure = fake._take_failure_before(form["To"])
        if failure is not None:
            status, code, retry_after = failure
            return _error(status, code, f"Fake failure {code}", retry_after)
        message, delay, fail_status = fake._record(acct, form)
        if delay:
            time.sleep(delay)
        if fail_status is not None:
            return _error(fail_status, fail_status, "Internal Server Error")
        return jsonify(message.to_json()), 201

    @fake.get(f"{API}/Messages.json")
    def list_messages(acct: str) -> Response:
        args = request.args
        page, page_size = int(args.get("Page", 0)), int(args.get("PageSize", 50))
        with fake.lock:
            found = [m for m in fake.messages if m.account_sid == acct and _matches(m, args)]
        found.sort(key=lambda m: m.date_created, reverse=True)
        chunk = found[page * page_size : (page + 1) * page_size]
        base = f"/2010-04-01/Accounts/{acct}/Messages.json"
        query = {k: v for k, v in args.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(n: int) -> str:
            return base + "?" + urlencode({**query, "PageSize": page_size, "Page": n})

        has_next = (page + 1) * page_size < len(found)
        return jsonify(
            {
                "messages": [m.to_json() for m in chunk],
                "end": page * page_size + max(len(chunk) - 1, 0),
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if has_next else None,
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
                "page": page,
                "page_size": page_size,
                "start": page * page_size,
                "uri": page_uri(page),
            }
        )

    @fake.get(f"{API}/Messages/<sid>.json")
    def fetch_message(acct: str, sid: str) -> Response | tuple[Response, int]:
        with fake.lock:
            for m in fake.messages:
                if m.sid == sid and m.account_sid == acct:
                    return jsonify(m.to_json())
        return _error(404, 20404, f"The requested resource {request.path} was not found")

    @fake.get("/_fake/messages")
    def demo_messages() -> Response:
        """For demos: everything the fake accepted."""
        with fake.lock:
            return jsonify([m.to_json() for m in fake.messages])

    @fake.post("/_fake/status-callbacks")
    def demo_status_callbacks() -> Response | tuple[Response, int]:
        """For demos: deliver "sent" and "delivered" callbacks for every message."""
        statuses = request.form.getlist("status") or ["sent", "delivered"]
        try:
            return jsonify(fake.send_status_callbacks(statuses=statuses))
        except requests.RequestException as exc:
            return jsonify({"error": f"could not deliver a callback: {exc}"}), 502

    fake.register_error_handler(404, lambda e: _error(404, 20404, "Not found"))
    fake.register_error_handler(405, lambda e: _error(405, 20004, "Method not allowed"))
    return fake


def _matches(message: FakeMessage, args: Mapping[str, str]) -> bool:
    if "To" in args and message.to != args["To"]:
        return False
    if "From" in args and message.from_ != args["From"]:
        return False
    after = args.get("DateSent>")
    if after:
        # Like Twilio: a message not yet sent has no DateSent and never matches.
        if message.date_sent is None:
            return False
        bound = _parse_bound(after)
        if isinstance(bound, datetime):
            return message.date_sent >= bound
        return message.date_sent.date() >= bound
    return True


def _parse_bound(text: str) -> datetime | date:
    if "T" in text:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return date.fromisoformat(text)


def _error(status: int, code: int, message: str, retry_after: float | None = None) -> tuple[Response, int]:
    response = jsonify(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(int(retry_after))
    return response, status


def _post(url: str, form: dict[str, str], headers: dict[str, str]) -> int:
    with requests.Session() as session:
        return session.post(url, data=form, headers=headers, timeout=10).status_code


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def main(argv: list[str] | None = None) -> None:
    """Run the fake on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(description="Fake Twilio Messages API for local demos")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--auth-token", default="test-token")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every create takes (Twilio: ~0.1)")
    parser.add_argument("--rate-limit-every", type=int, default=0, help="answer every n-th create with 429")
    parser.add_argument("--retry-after", type=float, default=None, help="Retry-After of those 429 answers")
    args = parser.parse_args(argv)
    from werkzeug.serving import run_simple

    fake = make_fake_twilio(args.auth_token)
    fake.latency, fake.rate_limit_every, fake.retry_after = args.latency, args.rate_limit_every, args.retry_after

    print(f"Fake Twilio on http://127.0.0.1:{args.port} (auth token {args.auth_token!r})")
    print(f"Set TWILIO_API_BASE_URL=http://127.0.0.1:{args.port}")
    print("GET /_fake/messages lists texts; POST /_fake/status-callbacks delivers callbacks")
    run_simple("127.0.0.1", args.port, fake, threaded=True)


if __name__ == "__main__":
    main()
