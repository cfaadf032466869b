"""Submitted once, created once: the rules behind ``submission_field()``.

A create form carries a random token (rendered by ``submission_field()`` in the template). The
first POST with a token stores it in the same transaction as whatever the view creates; the
answer's redirect is then written next to it. A second POST with the same token (a double tap,
a browser or proxy retrying after a lost answer) is not run again: it gets the first answer's
redirect. A POST whose view commits nothing (invalid form, not signed in) leaves no token
behind, so the corrected form can be sent again.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from organizer.db import utcnow
from organizer.extensions import db
from organizer.submissions.models import FormSubmission

FIELD_NAME = "submission_token"
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: Tokens are kept this long: far longer than any retry, short enough to stay a small table.
KEEP_FOR = timedelta(days=7)


def new_token() -> str:
    """A fresh unguessable token for one rendered form."""
    return secrets.token_urlsafe(24)


def valid_token(value: str | None) -> bool:
    return bool(value) and bool(TOKEN_PATTERN.match(value or ""))


def claim(token: str, path: str) -> FormSubmission | None:
    """Add ``token`` to the current transaction (committed with the view's own changes).
    Returns None when the token is new; else the earlier submission with that token (its
    transaction committed; ``redirect_to`` may still be None for a moment). On PostgreSQL a
    concurrent first submission makes this wait until it commits or rolls back."""
    try:
        with db.session.begin_nested():
            db.session.add(FormSubmission(token=token, path=path[:255]))
    except IntegrityError:
        return db.session.scalar(select(FormSubmission).where(FormSubmission.token == token))
    return None


def wait_for_answer(token: str, timeout: float = 5.0) -> str | None:
    """The redirect of the earlier submission with ``token``, waiting briefly while its answer
    is being written. Ends its transactions (no lock is held while it sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        target = db.session.scalar(select(FormSubmission.redirect_to).where(FormSubmission.token == token))
        db.session.rollback()
        if target or time.monotonic() >= deadline:
            return target
        time.sleep(0.05)


def record_answer(token: str, location: str | None) -> None:
    """After the view committed: keep the redirect of a successful submission; forget the token
    of one that did not end in a redirect (an error page), so the form can be sent again. Also
    drops tokens older than ``KEEP_FOR``. Commits."""
    if location:
        db.session.execute(update(FormSubmission).where(FormSubmission.token == token)
                           .values(redirect_to=location[:500]))
    else:
        db.session.execute(delete(FormSubmission).where(FormSubmission.token == token))
    purge(utcnow())
    db.session.commit()


def purge(now: datetime) -> None:
    """Forget tokens older than ``KEEP_FOR``. The caller commits."""
    db.session.execute(delete(FormSubmission).where(FormSubmission.created_at < now - KEEP_FOR))
