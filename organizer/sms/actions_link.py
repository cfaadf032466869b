"""Where texting meets actions and RSVPs (merge fields, "Reply YES to RSVP", reminders).

Everything that needs ``organizer.actions`` goes through here, so the rest of the SMS
area works whether or not the actions area is installed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from organizer.people.models import Person
    from organizer.sms.models import Mobilization


def merge_values(action_id: int) -> dict[str, str] | None:
    """``{action_title}``, ``{action_time}``, ``{action_place}``, ``{rsvp_link}`` for the
    action, or ``None`` when it does not exist. Raises nothing."""
    return None


def answer_rsvp(person: Person, yes: bool, now: datetime) -> str | None:
    """Record a YES/NO text as an RSVP to the action the person was last asked about.

    Returns the confirmation to text back ("" for none), or ``None`` when the text was
    not an RSVP answer (no recent "Reply YES" text for an upcoming action). Raises nothing.
    """
    return None


def rsvp_yes_count(mobilization: Mobilization) -> int:
    """How many people texted by ``mobilization`` said yes to its action (0 without one)."""
    return 0


def action_choices() -> list[tuple[int, str]]:
    """Upcoming actions a mobilization can be for, as select choices."""
    return []


def campaign_choices() -> list[tuple[int, str]]:
    """Campaigns a mobilization can be for, as select choices."""
    return []


def action_summary(action_id: int | None) -> dict[str, str] | None:
    """Title, time and place of the action, for the mobilization page."""
    return None
