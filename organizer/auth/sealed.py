"""Two-factor secrets sealed at rest: a copy of the database (a backup, a dump handed to a
volunteer) must not carry what makes every staff member's sign-in codes.

Each secret (20 random bytes) is sealed with AES-GCM under a key the database does not hold,
bound to its user's id (a sealed secret copied onto another account does not open there), and
stored as 64 characters of URL-safe base64: nonce, ciphertext and tag, which still fits the
column. A plain base32 secret, as stored before sealing, is 32 characters from another
alphabet: it is still read, and sealed at its owner's next sign-in or by
``flask seal-two-factor``.

Keys: ``TOTP_SECRET_KEYS``, comma-separated, each 32 random bytes in URL-safe base64
(``flask two-factor-key`` makes one); the first seals, every one opens, so a key is replaced
by putting the new one first, running ``flask seal-two-factor`` and then dropping the old one.
Without the setting the key is derived from ``SECRET_KEY`` (HKDF): before changing
``SECRET_KEY``, put ``flask two-factor-key --current`` (the key in use) in
``TOTP_SECRET_KEYS``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12
_PLAIN = re.compile(r"[A-Z2-7]{32}")  # a base32 secret of 20 bytes, as stored before sealing


class SealError(ValueError):
    """A sealed secret that none of the configured keys opens (a key was dropped too soon, or
    the row was copied from another account or database)."""


def keys_from(config) -> list[bytes]:
    """The configured keys, the sealing one first."""
    listed = [k.strip() for k in (config.get("TOTP_SECRET_KEYS") or "").split(",") if k.strip()]
    if not listed:
        return [derived_key(config["SECRET_KEY"])]
    keys = []
    for text in listed:
        try:
            key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ValueError("each key in TOTP_SECRET_KEYS must be 32 bytes in URL-safe base64 "
                             "(flask two-factor-key makes one)")
        keys.append(key)
    return keys


def derived_key(secret_key: str) -> bytes:
    """The key used when ``TOTP_SECRET_KEYS`` is not set."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"organizer: two-factor secrets at rest").derive(secret_key.encode())


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def new_key() -> str:
    return encode_key(os.urandom(32))


def _context(user_id: int) -> bytes:
    return f"organizer totp user {user_id}".encode()


def seal(secret: str, user_id: int, keys: list[bytes]) -> str:
    """``secret`` (base32) sealed for ``user_id`` with the first key."""
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    nonce = os.urandom(_NONCE)
    box = nonce + AESGCM(keys[0]).encrypt(nonce, raw, _context(user_id))
    return base64.urlsafe_b64encode(box).decode("ascii").rstrip("=")


def opened(stored: str, user_id: int, keys: list[bytes]) -> tuple[str, bool]:
    """The base32 secret of ``user_id`` from what the database holds, and whether it should be
    sealed again: stored plain (from before sealing), or opened by a key other than the first.
    :raise SealError: when no key opens it."""
    if _PLAIN.fullmatch(stored):
        return stored, True
    try:
        box = base64.urlsafe_b64decode(stored + "=" * (-len(stored) % 4))
    except (binascii.Error, ValueError):
        raise SealError("not a sealed two-factor secret") from None
    nonce, sealed = box[:_NONCE], box[_NONCE:]
    for index, key in enumerate(keys):
        try:
            raw = AESGCM(key).decrypt(nonce, sealed, _context(user_id))
        except InvalidTag:
            continue
        return base64.b32encode(raw).decode("ascii").rstrip("="), index > 0
    raise SealError("no key in TOTP_SECRET_KEYS opens this two-factor secret")


def unseal(stored: str, user_id: int, keys: list[bytes]) -> str:
    """The base32 secret of ``user_id`` (``opened`` without the rest)."""
    return opened(stored, user_id, keys)[0]
