"""Composing a text: merge fields, checking and rendering a body, the RSVP prompt, the
preview (sample, segments, cost) and saving a draft."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _

from organizer.audit.services import record, record_changes, snapshot
from organizer.auth.models import User
from organizer.extensions import db
from organizer.sms import actions_link, encoding
from organizer.sms.audiences import AudienceCount, AudienceFilter, audience_of
from organizer.sms.errors import MobilizationError
from organizer.sms.models import Mobilization, MobilizationKind, MobilizationStatus

PERSON_FIELDS = ("first_name",)


ACTION_FIELDS = ("action_title", "action_time", "action_place", "rsvp_link")


_MERGE_RE = re.compile(r"\{([^{}]*)\}")


SAMPLE_FIRST_NAME = "Guadalupe"  # a longish common name, for previews without an audience


def merge_fields(template: str) -> list[str]:
    """The ``{name}`` merge fields used in ``template``, in order. Raises nothing."""
    return _MERGE_RE.findall(template)


def action_values(action_id: int | None, language: str = "en") -> dict[str, str] | None:
    """Merge values of the action (``None`` when there is no action to take them from).

    Filled by the actions area when it is installed; see ``organizer.sms.actions_link``.
    """
    if action_id is None:
        return None
    return actions_link.merge_values(action_id, language)


def check_template(template: str, *, has_action: bool) -> None:
    """Refuse a body that cannot be sent.

    :raise MobilizationError: (field "body") when it is empty, uses unknown merge fields,
        action fields without an action, or is longer than Twilio accepts.
    """
    if not template.strip():
        raise MobilizationError(_("Write the text to send."), "body")
    known = set(PERSON_FIELDS) | (set(ACTION_FIELDS) if has_action else set())
    unknown = [f for f in merge_fields(template) if f not in known]
    if unknown:
        names = ", ".join("{" + f + "}" for f in dict.fromkeys(unknown))
        if not has_action and all(f in ACTION_FIELDS for f in unknown):
            raise MobilizationError(_("%(names)s can only be used in a text for an action.", names=names), "body")
        raise MobilizationError(_("Unknown merge field: %(names)s.", names=names), "body")
    if len(template) > encoding.MAX_BODY_CHARS:
        raise MobilizationError(_("The text is %(length)d characters; the most a text can carry is %(max)d.",
                                  length=len(template), max=encoding.MAX_BODY_CHARS), "body")


def render(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]``. Raises nothing."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


#: Added to a text that asks for RSVPs by reply, unless the text already names the answer.
#: The Spanish says SI without an accent: an Í is outside GSM-7 and would double the price.
RSVP_PROMPT = _("Reply YES to RSVP.")


_NAMES_THE_ANSWER = re.compile(r"\b(YES|SI|SÍ)\b")


def full_body(mobilization: Mobilization) -> str:
    """The body template with the action's values filled in and the RSVP prompt added, both
    in the language the body is written in."""
    from flask_babel import force_locale

    body = mobilization.body
    language = mobilization.text_language or "en"
    values = action_values(mobilization.action_id, language)
    if values:
        body = render(body, values)
    if mobilization.rsvp_prompt and mobilization.action_id and not _NAMES_THE_ANSWER.search(body.upper()):
        with force_locale(language):
            body = f"{body.rstrip()} {RSVP_PROMPT}"
    return body


@dataclass
class Preview:
    """What the compose page shows before anything is sent."""

    sample: str
    info: encoding.BodyInfo
    audience: AudienceCount
    cost: Decimal
    error: str | None = None


def preview(user: User, mobilization: Mobilization) -> Preview:
    """Render a sample, count segments and recipients, and estimate the cost. Raises nothing:
    a problem with the body comes back in ``error``.

    The audience is resolved as a launch would resolve it (:func:`audience_of`), so the
    numbers shown are the numbers sent.
    """
    error = None
    try:
        check_template(mobilization.body, has_action=mobilization.action_id is not None)
    except MobilizationError as exc:
        error = str(exc)
    audience = audience_of(mobilization, user)
    first = audience.recipients[0].first_name if audience.recipients else SAMPLE_FIRST_NAME
    sample = render(full_body(mobilization), {"first_name": first})
    info = encoding.analyze(sample)
    price = Decimal(str(current_app.config.get("SMS_PRICE_PER_SEGMENT") or "0"))
    return Preview(sample, info, audience, encoding.estimate_cost(info.segments, audience.count, price), error)


def save_mobilization(
    mobilization: Mobilization | None, *, title: str, body: str, audience: AudienceFilter, actor: User,
    action_id: int | None = None, campaign_id: int | None = None, rsvp_prompt: bool = False,
    text_language: str = "en",
) -> Mobilization:
    """Create or change a draft. Leaders' drafts are P2P texts to their own list.

    :raise MobilizationError: when the body cannot be sent, or the mobilization is no
        longer a draft.
    """
    check_template(body, has_action=action_id is not None)
    is_new = mobilization is None
    if mobilization is None:
        mobilization = Mobilization(created_by_id=actor.id, status=MobilizationStatus.DRAFT)
        db.session.add(mobilization)
    elif mobilization.status is not MobilizationStatus.DRAFT:
        raise MobilizationError(_("Only a draft can be changed."))
    fields = ("title", "body", "text_language", "audience", "action_id", "campaign_id", "rsvp_prompt")
    before = snapshot(mobilization, fields)
    fill_draft(mobilization, title=title, body=body, audience=audience, actor=actor, action_id=action_id,
               campaign_id=campaign_id, rsvp_prompt=rsvp_prompt, text_language=text_language)
    db.session.flush()
    if is_new:
        record(actor, "create", mobilization)
    else:
        record_changes(actor, mobilization, before, snapshot(mobilization, fields))
    return mobilization


def fill_draft(
    mobilization: Mobilization, *, title: str, body: str, audience: AudienceFilter, actor: User,
    action_id: int | None = None, campaign_id: int | None = None, rsvp_prompt: bool = False,
    text_language: str = "en",
) -> Mobilization:
    """Set a draft's fields from the compose form, exactly as saving would: the live preview
    fills an unsaved copy with this, so preview and saved draft cannot disagree. Raises nothing.

    The RSVP filter belongs to the draft's action (no action: no RSVP filter); a P2P draft's
    audience is its leader's own list.
    """
    audience = AudienceFilter.from_json(audience.to_json())  # the caller's filter stays as it was
    audience.rsvp_action_id = action_id if audience.rsvp_status else None
    if audience.rsvp_action_id is None:
        audience.rsvp_status = None
    if mobilization.created_by_id is None:
        mobilization.created_by_id = actor.id
    if mobilization.kind is None:
        mobilization.kind = MobilizationKind.P2P if actor.is_leader else MobilizationKind.BROADCAST
    if mobilization.kind is MobilizationKind.P2P:
        # A leader's texts go to the leader's own list, whoever edits the draft (staff may).
        audience.owner_id = mobilization.created_by_id
    mobilization.title = (title or "").strip()
    mobilization.body = body
    mobilization.text_language = text_language
    mobilization.audience = audience.to_json()
    mobilization.action_id = action_id
    mobilization.campaign_id = campaign_id
    mobilization.rsvp_prompt = bool(rsvp_prompt and action_id)
    return mobilization

