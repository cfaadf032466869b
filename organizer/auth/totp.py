"""Time-based one-time passwords (RFC 6238, on HOTP of RFC 4226) and their QR code.

TOTP is implemented here with ``hmac`` (about twenty lines, checked against the RFC's test
vectors in the tests) rather than taken from a package; the QR code is drawn by ``segno``,
a pure-Python encoder without dependencies, as an SVG rendered on the server, so the
enrollment page needs no JavaScript and no outside service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A random 160-bit secret in base32 (what authenticator apps expect)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def step_at(timestamp: float) -> int:
    """The 30-second step a moment falls in."""
    return int(timestamp // STEP_SECONDS)


def code_for_step(secret: str, step: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """HOTP (RFC 4226) of the step counter: dynamic truncation of an HMAC, ``digits`` long."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    mac = hmac.new(key, struct.pack(">Q", step), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def matching_step(secret: str, code: str, timestamp: float, drift: int = 1) -> int | None:
    """The step whose code ``code`` is, within ``drift`` steps of now (clocks differ a little),
    or ``None``. Compared in constant time."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step_at(timestamp)
    for step in range(now - drift, now + drift + 1):
        if hmac.compare_digest(code_for_step(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    label = quote(f"{issuer}:{account}", safe="@:")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": issuer})


def qr_svg(data: str, title: str) -> str:
    """An inline SVG QR code of ``data`` (no style attributes, so a strict CSP allows it)."""
    import segno

    return segno.make(data, error="m").svg_inline(scale=4, title=title, border=4)
