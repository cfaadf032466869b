"""A form submission already handled: its one-time token, and where its answer sent the reader."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from organizer.db import UTCDateTime, utcnow
from organizer.extensions import db


class FormSubmission(db.Model):
    """One token per rendered create form. Stored in the same transaction as what the form
    created, so "created" and "token used" are never out of step."""

    __tablename__ = "form_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(255))
    #: Where the first answer redirected; None while that answer is being written.
    redirect_to: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
