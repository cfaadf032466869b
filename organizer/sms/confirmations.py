"""Confirmation texts for an RSVP yes (issue 14): a public sign-up (new person, or a held one
staff accepted), and, when the organization turned it on, a yes staff recorded. The text
gives the action's time (in the action's zone, in the person's language) and place and a
link to the action's calendar file, and stays within as few segments as it can.

Only to people who said we may text them (consent "opted in"), whose number is not opted
out or flagged; queued through the outbox like any text we start, so quiet hours and the
hold on numbers shared across lists apply. Nothing is sent when quiet hours would hold it
until the action has begun.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l

from organizer.actions.models import Action, Rsvp, RsvpStatus
from organizer.db import utcnow
from organizer.people.models import Person, SmsConsent
from organizer.sms import actions_link

#: Short on purpose: with a long title these already take two segments.
CONFIRMED = _l("%(org)s: you're confirmed for %(action_title)s, %(action_time)s at %(action_place)s. "
               "Calendar: %(calendar_link)s")
CONFIRMED_NO_PLACE = _l("%(org)s: you're confirmed for %(action_title)s, %(action_time)s. Calendar: %(calendar_link)s")


def calendar_url(action: Action) -> str:
    """The public calendar file of the action, absolute like the sign-up links in texts
    (``PUBLIC_BASE_URL`` when set). Raises nothing."""
    return f"{actions_link.signup_url(action)}/calendar.ics"


def may_confirm(person: Person) -> bool:
    """Whether a confirmation may be texted to ``person``: a phone, consent given, and the
    number neither opted out nor flagged. Two queries at most. Raises nothing."""
    from organizer.sms.consent import blocked_reason

    return bool(person.phone) and person.sms_consent is SmsConsent.OPTED_IN and not blocked_reason(
        person.phone, person)


def text_language(person: Person) -> str:
    """The person's language; for somebody with none on file who is signing up on the public
    page right now, the language that page is shown in (they read it, so they read this)."""
    from organizer.sms.outbox import language_of

    if person.preferred_language is None and has_request_context() and request.endpoint == "actions.signup":
        from flask_babel import get_locale

        page = str(get_locale())
        if page in current_app.config.get("LANGUAGES", {}):
            return page
    return language_of(person)


def confirmation_body(person: Person, action: Action) -> str:
    """The confirmation text, in :func:`text_language`. Raises nothing."""
    from flask_babel import force_locale

    from organizer.settings.services import get_organization

    language = text_language(person)
    values = actions_link.merge_values(action.id, language) or {}
    values.pop("rsvp_link", None)
    message = CONFIRMED if values.get("action_place") else CONFIRMED_NO_PLACE
    with force_locale(language):
        return str(message) % dict(values, org=get_organization().name, calendar_link=calendar_url(action))


def queue_confirmation(rsvp: Rsvp) -> bool:
    """Queue the confirmation of ``rsvp`` (a yes) when the person may be texted and quiet
    hours end before the action starts. Returns whether a text was queued; it is dispatched
    after the commit (``signup_committed``). Raises nothing."""
    from organizer.settings.services import get_organization
    from organizer.sms import outbox, sending
    from organizer.sms.models import MessageKind

    person, action = rsvp.person, rsvp.action
    if rsvp.status is not RsvpStatus.YES or action.archived_at is not None or not may_confirm(person):
        return False
    now = utcnow()
    when = sending.next_send_time(person.phone, now, current_app.config, get_organization().timezone, person)
    if when >= action.starts_at:
        return False
    outbox.queue_text(person.phone, confirmation_body(person, action), MessageKind.ACTION_CONFIRMATION,
                      person=person, not_before=when)
    return True


def confirm_signup(rsvp: Rsvp) -> bool:
    """Sign-up confirmer: a sign-up recorded as yes (a new person) gets its confirmation; a
    pending one is asked to reply YES by :func:`actions_link.ask_to_confirm_signup`."""
    return queue_confirmation(rsvp) if rsvp.status is RsvpStatus.YES else False


def confirm_staff_rsvp(rsvp: Rsvp) -> bool:
    """RSVP confirmer: a yes staff (or a leader) recorded is confirmed by text when the
    organization's setting "Text a confirmation when staff record an RSVP yes" is on."""
    from organizer.settings.services import get_organization

    return bool(get_organization().text_staff_rsvp_confirmations) and queue_confirmation(rsvp)
