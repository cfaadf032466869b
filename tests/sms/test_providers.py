"""The provider seam, driven through the real twilio client against a local fake."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from flask import Flask, request
from twilio.request_validator import RequestValidator

from organizer.sms.providers import (
    AmbiguousSendError,
    ConsoleBackend,
    InvalidNumberError,
    OptedOutError,
    PermanentSendError,
    ProviderMessage,
    RetryableSendError,
    SendError,
    SendRequest,
    TwilioBackend,
    _parse_retry_after,
    error_for,
    make_backend,
)
from tests.sms.conftest import ACCOUNT, TOKEN
from tests.sms.fake_twilio import FakeTwilio
from tests.support.live import LiveServer, serve

SENDER = "+15555550199"
ALICE = "+15555550100"
BOB = "+15555550101"


def _backend(base_url: str, **kwargs: object) -> TwilioBackend:
    options: dict[str, object] = {"from_number": SENDER, "api_base_url": base_url, "timeout": 5.0}
    options.update(kwargs)
    return TwilioBackend(ACCOUNT, TOKEN, **options)  # type: ignore[arg-type]


@pytest.fixture
def backend(fake_server: LiveServer) -> Iterator[TwilioBackend]:
    b = _backend(fake_server.url)
    yield b
    b.close()


def _req(to: str = ALICE, body: str = "Hearing Tuesday 6pm", **kwargs: object) -> SendRequest:
    return SendRequest(to=to, body=body, outbox_id=1, **kwargs)  # type: ignore[arg-type]


# --- sending ------------------------------------------------------------------


def test_send_creates_message_with_callback_and_validity(backend: TwilioBackend, fake: FakeTwilio) -> None:
    result = backend.send(_req(status_callback="http://127.0.0.1:9/cb?o=1", validity_period=3600))

    assert result.sid.startswith("SM")
    assert result.status == "queued"
    assert result.segments == 1
    [message] = fake.messages
    assert message.sid == result.sid
    assert message.form == {
        "To": ALICE,
        "From": SENDER,
        "Body": "Hearing Tuesday 6pm",
        "StatusCallback": "http://127.0.0.1:9/cb?o=1",
        "ValidityPeriod": "3600",
    }


def test_send_omits_optional_parameters_when_not_given(backend: TwilioBackend, fake: FakeTwilio) -> None:
    backend.send(_req())
    assert set(fake.messages[0].form) == {"To", "From", "Body"}


def test_messaging_service_is_used_instead_of_from(fake_server: LiveServer, fake: FakeTwilio) -> None:
    b = TwilioBackend(ACCOUNT, TOKEN, messaging_service_sid="MG" + "2" * 32, api_base_url=fake_server.url)
    try:
        assert b.send(_req()).status == "accepted"
    finally:
        b.close()
    assert fake.messages[0].form["MessagingServiceSid"] == "MG" + "2" * 32
    assert "From" not in fake.messages[0].form


def test_rate_limit_is_retryable_with_retry_after(backend: TwilioBackend, fake: FakeTwilio) -> None:
    fake.fail_next(1, status=429, code=20429, retry_after=7)

    with pytest.raises(RetryableSendError) as info:
        backend.send(_req())

    assert info.value.code == 20429
    assert info.value.retry_after == 7.0
    assert fake.messages == []
    assert backend.send(_req()).sid  # the next attempt goes through


def test_retry_after_is_none_when_header_absent(backend: TwilioBackend, fake: FakeTwilio) -> None:
    fake.fail_next(1)
    with pytest.raises(RetryableSendError) as info:
        backend.send(_req())
    assert info.value.retry_after is None


def test_service_unavailable_is_retryable(backend: TwilioBackend, fake: FakeTwilio) -> None:
    fake.fail_next(1, status=503, code=503)
    with pytest.raises(RetryableSendError):
        backend.send(_req())


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (21610, OptedOutError),
        (21211, InvalidNumberError),
        (21614, InvalidNumberError),
        (21617, PermanentSendError),
        (30007, PermanentSendError),
        (21408, PermanentSendError),  # any other 4xx
    ],
)
def test_per_number_errors_map_to_exception_classes(
    backend: TwilioBackend, fake: FakeTwilio, code: int, expected: type[SendError]
) -> None:
    fake.error_for_number(BOB, code)

    with pytest.raises(expected) as info:
        backend.send(_req(to=BOB))

    assert type(info.value) is expected
    assert info.value.code == code
    assert backend.send(_req(to=ALICE)).sid  # other numbers are unaffected
    assert fake.count_by_to() == {ALICE: 1}


def test_wrong_credentials_are_permanent(fake_server: LiveServer) -> None:
    b = TwilioBackend(ACCOUNT, "wrong-token", from_number=SENDER, api_base_url=fake_server.url)
    try:
        with pytest.raises(PermanentSendError) as info:
            b.send(_req())
    finally:
        b.close()
    assert info.value.code == 20003


def test_server_error_after_recording_is_ambiguous(backend: TwilioBackend, fake: FakeTwilio) -> None:
    fake.fail_after_recording_next(1, status=500)

    with pytest.raises(AmbiguousSendError):
        backend.send(_req())

    assert fake.count_by_to() == {ALICE: 1}  # it did go out: never retry blindly


def test_read_timeout_is_ambiguous(fake_server: LiveServer, fake: FakeTwilio) -> None:
    fake.delay_next(1.0)
    b = _backend(fake_server.url, timeout=0.25)
    try:
        with pytest.raises(AmbiguousSendError) as info:
            b.send(_req())
    finally:
        b.close()
    assert "ReadTimeout" in str(info.value)
    assert fake.count_by_to() == {ALICE: 1}


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    b = _backend(f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        with pytest.raises(RetryableSendError) as info:
            b.send(_req())
    finally:
        b.close()
    assert info.value.code is None


def test_connection_dropped_after_request_is_ambiguous() -> None:
    """A server that reads the request and hangs up: it may have acted on it."""
    listener = socket.create_server(("127.0.0.1", 0))

    def accept_and_hang_up() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)

    thread = threading.Thread(target=accept_and_hang_up, daemon=True)
    thread.start()
    b = _backend(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=2.0)
    try:
        with pytest.raises(AmbiguousSendError):
            b.send(_req())
    finally:
        b.close()
        thread.join(timeout=5)
        listener.close()


# --- status callbacks -----------------------------------------------------------


class CallbackSink:
    """A tiny app that receives status callbacks and checks their signature."""

    def __init__(self, token: str) -> None:
        self.validator = RequestValidator(token)
        self.received: list[tuple[dict[str, str], bool]] = []
        self.app = Flask("callback_sink")
        self.app.add_url_rule("/sms/status", view_func=self.receive, methods=["POST"])

    def receive(self) -> tuple[str, int]:
        form = request.form.to_dict()
        valid = self.validator.validate(request.url, form, request.headers.get("X-Twilio-Signature", ""))
        self.received.append((form, valid))
        return ("", 204) if valid else ("bad signature", 403)


def test_status_callbacks_arrive_signed(backend: TwilioBackend, fake: FakeTwilio) -> None:
    sink = CallbackSink(TOKEN)
    with serve(sink.app) as receiver:
        callback = f"{receiver.url}/sms/status?outbox=42"
        sid = backend.send(_req(status_callback=callback)).sid
        backend.send(_req(to=BOB))  # no callback requested: none sent

        results = fake.send_status_callbacks()

    assert results == [(sid, "sent", 204), (sid, "delivered", 204)]
    assert [form["MessageStatus"] for form, _ in sink.received] == ["sent", "delivered"]
    assert all(valid for _, valid in sink.received)
    form = sink.received[-1][0]
    assert form["MessageSid"] == sid
    assert form["To"] == ALICE and form["From"] == SENDER and form["AccountSid"] == ACCOUNT
    assert "ErrorCode" not in form
    tampered = {**form, "MessageStatus": "failed"}
    signature = RequestValidator(TOKEN).compute_signature(callback, form)
    assert not RequestValidator(TOKEN).validate(callback, tampered, signature)


def test_status_callbacks_in_chosen_order_with_error_code(backend: TwilioBackend, fake: FakeTwilio) -> None:
    delivered: list[tuple[str, dict[str, str], dict[str, str]]] = []

    def transport(url: str, form: dict[str, str], headers: dict[str, str]) -> int:
        delivered.append((url, form, headers))
        return 200

    sid = backend.send(_req(status_callback="http://organizer.test/sms/status")).sid
    fake.send_status_callbacks(order=[(sid, "delivered"), (sid, ("undelivered", 30007))], transport=transport)

    assert [form["MessageStatus"] for _, form, _ in delivered] == ["delivered", "undelivered"]
    url, form, headers = delivered[-1]
    assert form["ErrorCode"] == "30007"
    assert RequestValidator(TOKEN).validate(url, form, headers["X-Twilio-Signature"])
    assert isinstance(error_for(None, int(form["ErrorCode"]), "callback"), PermanentSendError)


# --- reconciliation ---------------------------------------------------------------


def test_list_recent_finds_queued_and_sent_messages(backend: TwilioBackend, fake: FakeTwilio) -> None:
    since = datetime.now(UTC)
    sent_sid = backend.send(_req(status_callback="http://organizer.test/cb")).sid
    fake.send_status_callbacks(statuses=["sent"], transport=lambda url, form, headers: 200)
    queued_sid = backend.send(_req()).sid  # still queued: Twilio has no DateSent yet
    backend.send(_req(to=BOB))

    found = backend.list_recent(ALICE, since)

    assert {m.sid for m in found} == {sent_sid, queued_sid}
    assert all(isinstance(m, ProviderMessage) and m.to == ALICE for m in found)
    assert {m.status for m in found} == {"sent", "queued"}
    assert found[0].body == "Hearing Tuesday 6pm"
    assert found[0].date_created is not None and found[0].date_created.tzinfo is not None


def test_list_recent_excludes_older_messages(backend: TwilioBackend) -> None:
    backend.send(_req())
    assert backend.list_recent(ALICE, datetime.now(UTC) + timedelta(minutes=5)) == []


def test_list_recent_finds_message_behind_an_ambiguous_error(backend: TwilioBackend, fake: FakeTwilio) -> None:
    since = datetime.now(UTC)
    fake.fail_after_recording_next(1)
    with pytest.raises(AmbiguousSendError):
        backend.send(_req())

    [found] = backend.list_recent(ALICE, since)

    assert found.sid == fake.messages[0].sid


def test_list_recent_network_failure_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    b = _backend(f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        with pytest.raises(RetryableSendError):
            b.list_recent(ALICE, datetime.now(UTC))
    finally:
        b.close()


# --- error mapping -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (429, 20429, RetryableSendError),
        (429, None, RetryableSendError),
        (503, 503, RetryableSendError),
        (400, 21611, RetryableSendError),
        (400, 21610, OptedOutError),
        (400, 21211, InvalidNumberError),
        (400, 21614, InvalidNumberError),
        (400, 21617, PermanentSendError),
        (400, 30003, PermanentSendError),
        (400, 30005, PermanentSendError),
        (400, 30006, PermanentSendError),
        (400, 30007, PermanentSendError),
        (404, 20404, PermanentSendError),
        (401, 20003, PermanentSendError),
        (500, 500, AmbiguousSendError),
        (502, None, AmbiguousSendError),
        (504, None, AmbiguousSendError),
        (None, 30007, PermanentSendError),  # status callback ErrorCode
        (None, 21610, OptedOutError),
        (None, None, AmbiguousSendError),
    ],
)
def test_error_for_maps_status_and_code(status: int | None, code: int | None, expected: type[SendError]) -> None:
    error = error_for(status, code, "boom")
    assert type(error) is expected
    assert error.code == code


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert _parse_retry_after("12") == 12.0
    assert _parse_retry_after(None) is None
    assert _parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 < (_parse_retry_after(later) or 0) <= 120
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=120), usegmt=True)
    assert _parse_retry_after(earlier) == 0.0


def test_send_request_rejects_out_of_range_validity() -> None:
    with pytest.raises(ValueError):
        _req(validity_period=0)
    with pytest.raises(ValueError):
        _req(validity_period=36001)
    assert _req(validity_period=36000).validity_period == 36000


# --- console backend ------------------------------------------------------------------


def test_console_backend_logs_and_records(caplog: pytest.LogCaptureFixture) -> None:
    console = ConsoleBackend()
    since = datetime.now(UTC) - timedelta(seconds=1)

    with caplog.at_level(logging.INFO, logger="organizer.sms.providers"):
        result = console.send(_req(body="See you at City Hall"))
        console.send(_req(to=BOB))

    assert result.sid.startswith("CONSOLE") and len(result.sid) > len("CONSOLE")
    assert result.status == "sent"
    assert "See you at City Hall" in caplog.text and ALICE in caplog.text
    assert [m.to for m in console.sent] == [ALICE, BOB]
    assert console.requests[0].outbox_id == 1
    assert [m.sid for m in console.list_recent(ALICE, since)] == [result.sid]
    assert console.list_recent(ALICE, datetime.now(UTC) + timedelta(seconds=5)) == []


def test_console_backend_can_simulate_failures() -> None:
    console = ConsoleBackend()
    console.fail_next(OptedOutError(21610, "opted out"), times=2)

    for _ in range(2):
        with pytest.raises(OptedOutError):
            console.send(_req())

    assert console.send(_req()).status == "sent"
    assert len(console.sent) == 1


# --- configuration --------------------------------------------------------------------

TWILIO_CONFIG = {
    "SMS_BACKEND": "twilio",
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "TWILIO_AUTH_TOKEN": TOKEN,
    "TWILIO_FROM_NUMBER": SENDER,
}


def test_make_backend_defaults_to_console() -> None:
    assert isinstance(make_backend({}), ConsoleBackend)
    assert isinstance(make_backend({"SMS_BACKEND": "Console"}), ConsoleBackend)


def test_make_backend_builds_twilio_with_timeout_and_base_url(fake_server: LiveServer, fake: FakeTwilio) -> None:
    backend = make_backend({**TWILIO_CONFIG, "TWILIO_API_BASE_URL": fake_server.url, "TWILIO_TIMEOUT": "2.5"})
    try:
        assert isinstance(backend, TwilioBackend)
        assert backend._http.timeout == 2.5
        backend.send(_req())
    finally:
        backend.close()
    assert fake.count_by_to() == {ALICE: 1}


def test_make_backend_twilio_default_timeout() -> None:
    backend = make_backend(TWILIO_CONFIG)
    assert isinstance(backend, TwilioBackend)
    assert backend._http.timeout == 10.0
    backend.close()


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"])
def test_make_backend_twilio_without_credentials_names_them(missing: str) -> None:
    config = {k: v for k, v in TWILIO_CONFIG.items() if k != missing}
    with pytest.raises(ValueError, match=missing):
        make_backend(config)


def test_make_backend_twilio_without_sender() -> None:
    config = {k: v for k, v in TWILIO_CONFIG.items() if k != "TWILIO_FROM_NUMBER"}
    with pytest.raises(ValueError, match="TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER"):
        make_backend(config)


@pytest.mark.parametrize("timeout", ["abc", "0", "-1", 0, -1.5])
def test_make_backend_rejects_bad_timeout(timeout: str | float) -> None:
    with pytest.raises(ValueError, match="TWILIO_TIMEOUT"):
        make_backend({**TWILIO_CONFIG, "TWILIO_TIMEOUT": timeout})


def test_make_backend_rejects_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown SMS_BACKEND"):
        make_backend({"SMS_BACKEND": "carrier-pigeon"})
