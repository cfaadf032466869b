"""Atomic failure counters for logins and two-factor codes.

Every try is *reserved* before the password (or code) is checked: one UPSERT ... RETURNING
adds it to its counters and hands back the new count, and the reservation is committed
before the slow hash runs. Parallel guesses therefore each see the others' tries, and no more
than the limit are ever checked; a try that proves right gives its reservation back.

Keys: ``pair:<email> <address>`` and ``address:<address>`` have a hard limit per window;
``account:<email>`` (only for addresses that never signed in to that account) imposes a
growing wait between tries once the account has had too many failures, so an account under
attack from many addresses slows the attacker down without locking its owner out: the owner's
own address (a pair that has signed in before) skips the account's wait.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select, update

from organizer.auth.models import LoginThrottle
from organizer.extensions import db


@dataclass(frozen=True)
class Count:
    """A counter after a try was added: tries in the window, when the window began, whether
    the key has ever signed in successfully."""

    failures: int
    window_start: float
    known: bool


def reserve(key: str, now: float, window: float, *, sliding: bool = False) -> Count:
    """Add one try to ``key`` in one atomic statement and return the new count.

    The window is fixed from the first failure (``sliding=False``: the wait can be told
    exactly) or restarts only after ``window`` seconds without a failure (``sliding=True``:
    a steady attack never gets a fresh allowance). The caller commits.
    """
    table = LoginThrottle.__table__
    since = (table.c.last_failure if sliding else table.c.window_start) <= now - window
    insert = _insert()(table).values(
        key=key, failures=1, window_start=now, last_failure=now, next_try=0.0, last_success=None
    )
    stmt = insert.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((since, 1), else_=table.c.failures + 1),
            "window_start": case((since, now), else_=table.c.window_start),
            "last_failure": now,
        },
    ).returning(table.c.failures, table.c.window_start, table.c.last_success)
    failures, window_start, last_success = db.session.execute(stmt).one()
    return Count(failures=failures, window_start=window_start, known=last_success is not None)


def claim_turn(key: str, now: float, wait: float) -> float | None:
    """Take the account's next turn: allowed only if its wait has passed, and the next try
    must then wait ``wait`` seconds. Atomic (a conditional UPDATE), so of parallel tries only
    one gets the turn. Returns ``None`` when the turn is taken, else the seconds left to wait.
    """
    claimed = db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, LoginThrottle.next_try <= now)
        .values(next_try=now + wait)
        .returning(LoginThrottle.key)
    ).first()
    if claimed is not None:
        return None
    next_try = db.session.scalar(select(LoginThrottle.next_try).where(LoginThrottle.key == key))
    return max((next_try or now) - now, 1.0)


def succeeded(key: str, now: float) -> None:
    """The try on ``key`` was right: its failures are forgotten and the key is known from now on."""
    db.session.execute(
        update(LoginThrottle).where(LoginThrottle.key == key).values(failures=0, last_success=now)
    )


def refund(key: str) -> None:
    """Give back one reserved try (a right password on a shared counter such as an address)."""
    db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key, LoginThrottle.failures > 0)
        .values(failures=LoginThrottle.failures - 1)
    )


def _insert():
    """The dialect's INSERT, which has ``on_conflict_do_update`` (SQLite 3.24+ and PostgreSQL)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert
