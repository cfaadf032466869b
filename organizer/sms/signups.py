"""Texts a public sign-up sends: the owner of the number a sign-up matched is asked to reply
YES to confirm. Registered with the actions area by the app factory
(``register_signup_confirmer``), so actions never imports texting."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from organizer.actions.models import Rsvp, RsvpStatus
from organizer.db import utcnow
from organizer.settings.services import get_organization
from organizer.sms import consent, outbox, sending
from organizer.sms.actions_link import merge_values
from organizer.sms.models import MessageKind

SIGNUP_CONFIRM = _l("%(org)s: someone signed you up for %(action_title)s, %(action_time)s at %(action_place)s. "
                    "Reply YES to confirm or NO if you are not coming.")


def ask_to_confirm_signup(rsvp: Rsvp) -> bool:
    """Text the owner of the number a public sign-up matched, asking them to reply YES to
    confirm (registered with the actions area as a sign-up confirmer). Nothing is sent to a
    number that may not be texted, nor when quiet hours last until the action starts.
    Returns whether a text was queued (it goes after the commit). Raises nothing."""
    person, action = rsvp.person, rsvp.action
    if rsvp.status is not RsvpStatus.PENDING:  # a new person's yes is confirmed by sms.confirmations
        return False
    if not person.phone or consent.blocked_reason(person.phone, person):
        return False
    org = get_organization()
    now = utcnow()
    when = sending.next_send_time(person.phone, now, current_app.config, org.timezone)
    if when >= action.starts_at:
        return False
    values = merge_values(action.id, outbox.language_of(person)) or {}
    body = outbox.in_their_language(person, SIGNUP_CONFIRM, org=org.name, **values)
    outbox.queue_text(person.phone, body, MessageKind.SIGNUP_CONFIRMATION, person=person, not_before=when)
    return True


def send_signup_confirmations() -> None:
    """Hand the confirmation texts queued by :func:`ask_to_confirm_signup` to the worker, after
    the sign-up's commit. The task module is imported here, not when the app is built: with
    that import in ``create_app`` (which the worker runs inside a task), the restarted worker of
    tests/sms/test_crash.py left its mobilization unfinished (3 runs of 3; why is not known)."""
    from organizer.sms.tasks import dispatch_noted

    dispatch_noted()

