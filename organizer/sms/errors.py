"""The errors texting's services raise: each carries a message (a lazy translation) meant for
whoever asked, shown by the view or the CLI as it is."""

from __future__ import annotations


class MobilizationError(ValueError):
    """A mobilization that cannot be saved, launched or changed as asked (its message is a
    lazy translation, rendered in the language of whoever reads it).

    ``field`` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InboxError(ValueError):
    """A thread action that breaks a rule (empty reply, blocked number)."""


class ConflictError(ValueError):
    """A decision about a shared phone number that cannot be taken (decided already)."""

