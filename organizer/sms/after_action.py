"""After an action, in one step: texts to a turnout list (the no-shows, the first-timers,
those who came) and the "did you make it?" text, each a mobilization draft whose audience is
a turnout list of the action, stored as a filter (``AudienceFilter.turnout``) so the preview,
the draft and the launch resolve the same people, and a leader's text reaches their own only.

Only the suggested message is written here; the draft is edited and launched on the texting
pages like any other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from organizer.actions.models import Action
from organizer.extensions import db

if TYPE_CHECKING:
    from organizer.auth.models import User
    from organizer.people.models import Person
    from organizer.sms.models import InboundMessage, Mobilization

#: The texts the turnout page offers: the turnout list each goes to, the draft's name, and the
#: suggested message. ``made_it`` asks who said yes and was not checked in whether they came.
SUGGESTIONS = {
    "no_show": ("no_show", _l("No-shows: %(action)s"),
                _l("Hi {first_name}, we missed you at %(action)s. We hope everything is OK! "
                   "What got in the way? We would love to see you next time.")),
    "first_timer": ("first_timer", _l("First-timers: %(action)s"),
                    _l("Hi {first_name}, thank you for coming to %(action)s, your first action with us! "
                       "We would love to hear what you thought.")),
    "attended": ("attended", _l("Thank you: %(action)s"),
                 _l("Hi {first_name}, thank you for coming to %(action)s! Together we made it count.")),
    "made_it": ("no_show", _l("Did you make it? %(action)s"),
                _l("Hi {first_name}, did you make it to %(action)s? Reply YES if you came.")),
}
#: What the compose page says a turnout audience is.
AUDIENCE_LABELS = {
    "no_show": _l("Said yes to %(action)s and were not checked in"),
    "first_timer": _l("Came to %(action)s, their first action"),
    "attended": _l("Came to %(action)s"),
}


def audience_label(turnout: str | None, action_id: int | None) -> str | None:
    """"Came to <action>" for a turnout audience, for the compose page; ``None`` otherwise."""
    if not turnout or action_id is None or turnout not in AUDIENCE_LABELS:
        return None
    action = db.session.get(Action, action_id)
    return str(AUDIENCE_LABELS[turnout] % {"action": action.title if action else "?"})


def _plain(title: str) -> str:
    """The action's title as text in a template: braces would read as merge fields."""
    return title.replace("{", "(").replace("}", ")")


def draft_for_turnout(action: Action, which: str, actor: User, language: str) -> Mobilization:
    """A draft mobilization to one of the action's turnout lists, with the suggested message
    in ``language`` (a mobilization carries one text; the viewer's language is the one they
    will read and edit it in). Audited as any new draft.

    :raise ValueError: for a ``which`` not in :data:`SUGGESTIONS`.
    :raise MobilizationError: when the action has not started (nobody has come or not yet).
    """
    from organizer.sms.models import MobilizationPurpose
    from organizer.sms.audiences import AudienceFilter
    from organizer.sms.compose import save_mobilization
    from organizer.sms.errors import MobilizationError

    if which not in SUGGESTIONS:
        raise ValueError(which)
    if not action.has_started:
        raise MobilizationError(_("The action has not started yet."))
    turnout, title, body = SUGGESTIONS[which]
    with force_locale(language):
        title_text = str(title % {"action": action.title})[:200]
        body_text = str(body % {"action": _plain(action.title)})
    audience = AudienceFilter(turnout=turnout, turnout_action_id=action.id)
    mobilization = save_mobilization(None, title=title_text, body=body_text, audience=audience, actor=actor,
                                     text_language=language)
    if which == "made_it":
        mobilization.purpose = MobilizationPurpose.DID_YOU_MAKE_IT
        mobilization.purpose_action_id = action.id
    return mobilization


#: How long after the "did you make it?" text a YES still answers it.
MADE_IT_REPLY_WINDOW = timedelta(days=7)


def made_it_action(person: Person, now: datetime) -> int | None:
    """The action the person was last asked "did you make it?" about, when the last text we
    sent them (within ``MADE_IT_REPLY_WINDOW``) was that question: a YES answers the last
    text, so a later RSVP ask or reminder takes the reply over. One query. Raises nothing."""
    from organizer.sms.models import MessageKind, Mobilization, MobilizationPurpose, OutboxMessage
    from organizer.sms.outbox import taken_to

    last = db.session.execute(
        select(Mobilization.purpose, Mobilization.purpose_action_id)
        .select_from(OutboxMessage)
        .outerjoin(Mobilization, Mobilization.id == OutboxMessage.mobilization_id)
        .where(taken_to(person), OutboxMessage.created_at >= now - MADE_IT_REPLY_WINDOW,
               # Answers to their own texts (HELP, a confirmation) are not a new question.
               OutboxMessage.kind.not_in((MessageKind.AUTO_REPLY, MessageKind.OPT_OUT_CONFIRMATION)))
        .order_by(OutboxMessage.id.desc()).limit(1)
    ).first()
    if last is None or last.purpose is not MobilizationPurpose.DID_YOU_MAKE_IT:
        return None
    return last.purpose_action_id


def answer_made_it(person: Person, message: InboundMessage, now: datetime) -> bool:
    """Treat a YES or NO as the answer to the "did you make it?" text when that was the last
    thing we asked the person: a YES becomes a claim of attendance for staff to confirm
    (``actions.after.claim_attendance``), never attendance by itself; a NO is noted. Returns
    whether the reply was taken as that answer. Raises nothing."""
    from organizer.actions.after import claim_attendance
    from organizer.sms.keywords import Keyword

    action_id = made_it_action(person, now)
    if action_id is None:
        return False
    if message.keyword == Keyword.YES.value:
        claim_attendance(action_id, person, message.body, now)
        message.outcome = "says_came"
    else:
        message.outcome = "says_did_not_come"
    return True
