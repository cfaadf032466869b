"""Rules for texting: consent and opt-outs, audiences, composing and launching
mobilizations, their progress, and the replies inbox.

Services only flush; the caller commits. Texts are never sent from here: a service
writes outbox rows and notes them with :func:`note_dispatch`; after its commit the view
(or task) calls ``organizer.sms.tasks.dispatch_noted()``, so nothing goes out for a
transaction that rolled back.

Who may be texted: ``Person.sms_consent`` ``opted_out`` never; ``unknown`` and
``opted_in`` yes (a person who gave the federation their number may get its texts until
they say stop). A number in ``sms_opt_outs`` (it texted STOP, maybe before it belonged to
anyone) or in ``sms_phone_flags`` (Twilio called it invalid or not mobile) is never
texted, whoever it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import ColumnElement, and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from organizer.audit.services import record, record_changes, snapshot
from organizer.auth.models import User
from organizer.db import paged, utcnow
from organizer.extensions import db
from organizer.people.models import ConsentMethod, Person, PhoneConflict, PhoneConflictStatus, SmsConsent, fold
from organizer.people.services import (
    archive_person,
    filter_conditions,
    people_visible_to,
    phones_on_hold,
    set_sms_consent,
)
from organizer.settings.services import get_organization
from organizer.sms import encoding
from organizer.sms.keywords import Keyword, classify, from_opt_out_type, twilio_auto_replies
from organizer.sms.models import (
    Conversation,
    InboundMessage,
    MessageKind,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
    PhoneFlag,
    PhoneOptOut,
    VerifiedNumber,
)


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


# --- dispatching after commit -------------------------------------------------------------


def note_dispatch(kind: str, ident: int) -> None:
    """Remember that outbox row ``ident`` (kind "row") or mobilization ``ident`` (kind
    "mobilization") should be handed to the worker once the transaction commits."""
    db.session.info.setdefault("sms_dispatch", []).append((kind, ident))


def take_noted_dispatches() -> list[tuple[str, int]]:
    """The dispatches noted since the last call (and forget them)."""
    return db.session.info.pop("sms_dispatch", [])


# --- consent and blocked numbers ----------------------------------------------------------


def blocked_reason(phone: str, person: Person | None) -> str | None:
    """Why ``phone`` (of ``person``) may not be texted now, or ``None`` if it may.

    Checks the person's consent, the opt-outs by number and the invalid-number flags.
    Raises nothing.
    """
    if person is not None and person.sms_consent is SmsConsent.OPTED_OUT:
        return "opted out"
    found = db.session.execute(
        select(literal("opted out")).where(PhoneOptOut.phone == phone)
        .union_all(select(literal("invalid number: ") + PhoneFlag.reason).where(PhoneFlag.phone == phone))
    ).first()
    return found[0] if found else None


def reason_label(reason: str | None) -> Any:
    """A blocked reason from :func:`blocked_reason` in the reader's language."""
    if reason is None:
        return ""
    if reason == "opted out":
        return _("opted out")
    if reason.startswith("invalid number"):
        return _("invalid number")
    return reason


def opt_out_phone(phone: str, source: str, now: datetime | None = None, *,
                  method: ConsentMethod = ConsentMethod.SMS_STOP, actor: User | None = None) -> bool:
    """Opt ``phone`` out everywhere: the number, every person with it, and every text to it
    still waiting in the outbox (except the opt-out confirmation itself). Each person's
    consent history notes ``method`` (a STOP text, an organizer's review) and ``actor``.

    Returns True when this changed anything (False for a repeated STOP). Raises nothing.
    """
    now = now or utcnow()
    changed = False
    if not db.session.scalar(select(PhoneOptOut.id).where(PhoneOptOut.phone == phone)):
        db.session.add(PhoneOptOut(phone=phone, source=source[:80], opted_out_at=now))
        changed = True
    for person in db.session.scalars(select(Person).where(Person.phone == phone)):
        if person.sms_consent is not SmsConsent.OPTED_OUT:
            set_sms_consent(person, SmsConsent.OPTED_OUT, method=method, actor=actor, detail=source, now=now)
            changed = True
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.phone == phone,
            OutboxMessage.status == OutboxStatus.QUEUED,
            OutboxMessage.kind != MessageKind.OPT_OUT_CONFIRMATION,
        )
        .values(status=OutboxStatus.CANCELED, error_message="opted out", updated_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()
    return changed


def opt_in_phone(phone: str, source: str, *, method: ConsentMethod = ConsentMethod.SMS_START) -> bool:
    """Undo an opt-out for ``phone`` (the person texted START or UNSTOP themselves).

    Returns True when this changed anything. Raises nothing.
    """
    changed = bool(db.session.execute(delete(PhoneOptOut).where(PhoneOptOut.phone == phone)).rowcount)
    for person in db.session.scalars(select(Person).where(Person.phone == phone)):
        if person.sms_consent is not SmsConsent.OPTED_IN:
            set_sms_consent(person, SmsConsent.OPTED_IN, method=method, detail=source)
            changed = True
    db.session.flush()
    return changed


def flag_phone(phone: str, reason: str, code: int | None) -> None:
    """Mark ``phone`` as not textable (Twilio said invalid or not a mobile). Raises nothing."""
    if not db.session.scalar(select(PhoneFlag.id).where(PhoneFlag.phone == phone)):
        db.session.add(PhoneFlag(phone=phone, reason=reason[:255], error_code=code))
        db.session.flush()


# --- audiences ----------------------------------------------------------------------------


@dataclass
class AudienceFilter:
    """Who a mobilization goes to; every field optional (none: everyone the sender sees)."""

    institution_id: int | None = None
    neighborhood_id: int | None = None
    tag_id: int | None = None
    stage_id: int | None = None  # leadership pipeline stage
    owner_id: int | None = None  # a leader's (or organizer's) list
    language: str | None = None
    rsvp_status: str | None = None  # yes, maybe, no or none: the answer to ``rsvp_action_id``
    rsvp_action_id: int | None = None
    turnout: str | None = None  # a turnout list of ``turnout_action_id`` (see ``sms.after_action``)
    turnout_action_id: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> AudienceFilter:
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def audience_condition(user: User, audience: AudienceFilter) -> ColumnElement[bool]:
    """The SQL condition on ``Person`` for ``audience`` as ``user`` may see it.

    A leader's audience is always their own list, whatever the filter says.
    """
    clauses: list[ColumnElement[bool]] = [
        people_visible_to(user), Person.archived_at.is_(None),
        *filter_conditions(
            institution_id=audience.institution_id, neighborhood_id=audience.neighborhood_id,
            tag_id=audience.tag_id, stage_id=audience.stage_id,
            owner_id=None if user.is_leader else audience.owner_id,
        ),
    ]
    if audience.language == "en":
        # People whose language was never noted get texts in English: a one-per-language
        # set of mobilizations must reach them with the English one.
        clauses.append(or_(Person.preferred_language == "en", Person.preferred_language.is_(None),
                           Person.preferred_language == ""))
    elif audience.language:
        clauses.append(Person.preferred_language == audience.language)
    if audience.rsvp_status and audience.rsvp_action_id:
        from organizer.sms import actions_link

        clauses.append(actions_link.rsvp_condition(audience.rsvp_action_id, audience.rsvp_status))
    if audience.turnout:
        from organizer.sms import after_action

        clauses.append(after_action.turnout_audience_condition(audience))
    return and_(*clauses)


@dataclass
class Recipient:
    person_id: int
    first_name: str
    phone: str
    #: The number is shared with someone outside the sender's list and staff have not
    #: allowed it: the text is written but waits (``held``) for their decision.
    held: bool = False
    #: Others of the audience at the same number (a household): one text, addressed to all.
    sharers: list[tuple[int, str]] = field(default_factory=list)

    @property
    def greeting_name(self) -> str:
        """The ``{first_name}`` of the one text to a shared number: every name, in the order
        they were added ("María & José", "María, José & Ana"). "&" reads the same in every
        language a text goes out in, where "and"/"y" would need the recipients' language."""
        names = [self.first_name]
        for _person_id, name in self.sharers:
            if fold(name) not in {fold(n) for n in names}:
                names.append(name)
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} & {names[-1]}"


@dataclass
class AudienceCount:
    """An audience after exclusions: who will get the text, and who will not and why."""

    matched: int = 0
    opted_out: int = 0
    no_phone: int = 0
    invalid_phone: int = 0
    duplicate: int = 0  # already texted for this mobilization, or a number shared with someone held
    shared: int = 0  # reached through a number someone earlier has: named in that one text
    recipients: list[Recipient] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.recipients)

    @property
    def held(self) -> int:
        """Recipients whose text waits for staff (a phone shared across lists)."""
        return sum(1 for r in self.recipients if r.held)

    @property
    def excluded(self) -> int:
        return self.opted_out + self.no_phone + self.invalid_phone + self.duplicate


def resolve_audience(user: User, audience: AudienceFilter, mobilization_id: int | None = None) -> AudienceCount:
    """The people ``audience`` selects for ``user``, split into recipients and exclusions.

    Five queries whatever the size: the people, the opted-out numbers, the flagged
    numbers, the numbers on hold, and who already has a text of this mobilization.

    A number gets one text only: people of the audience who share it (a household) are
    added to the first one's ``sharers``, and that one text is addressed to them all (counted
    in ``shared``, not excluded). Someone whose number waits for staff (see
    ``people.models.PhoneConflict``) comes after everyone free to text, so a shared number
    reaches the person who held it first, and a recipient on hold is marked ``held`` (and
    shares with nobody: their number is in question). Raises nothing.
    """
    # Through the connection: plain rows, without the ORM's per-row loading (50,000 rows a launch).
    rows = db.session.connection().execute(
        select(Person.id, Person.first_name, Person.preferred_name, Person.phone, Person.sms_consent)
        .where(audience_condition(user, audience))
        .order_by(Person.id)
    ).all()
    phones = {r[3] for r in rows if r[3]}
    # Both lists are small next to an audience; an IN of 50,000 numbers would not be.
    blocked_numbers = set(db.session.scalars(select(PhoneOptOut.phone))) & phones if phones else set()
    flagged = set(db.session.scalars(select(PhoneFlag.phone))) & phones if phones else set()
    already: set[int] = set()
    seen_phones: set[str] = set()
    if mobilization_id is not None:
        for person_id, phone in db.session.execute(
            select(OutboxMessage.person_id, OutboxMessage.phone).where(OutboxMessage.mobilization_id == mobilization_id)
        ):
            if person_id is not None:
                already.add(person_id)
            seen_phones.add(phone)
    on_hold = phones_on_hold() if phones else set()
    if on_hold:
        rows = ([r for r in rows if (r.id, r.phone) not in on_hold]
                + [r for r in rows if (r.id, r.phone) in on_hold])
    result = AudienceCount(matched=len(rows))
    recipients = result.recipients
    by_phone: dict[str, Recipient] = {}  # this launch's texts, for household members to join
    for person_id, first_name, preferred_name, phone, consent in rows:
        if person_id in already:
            result.duplicate += 1
        elif not phone:
            result.no_phone += 1
        elif consent is SmsConsent.OPTED_OUT or phone in blocked_numbers:
            result.opted_out += 1
        elif phone in flagged:
            result.invalid_phone += 1
        elif phone in seen_phones:
            first = by_phone.get(phone)
            if first is not None and not first.held and (person_id, phone) not in on_hold:
                first.sharers.append((person_id, preferred_name or first_name))
                result.shared += 1
            else:
                result.duplicate += 1
        else:
            seen_phones.add(phone)
            recipient = Recipient(person_id, preferred_name or first_name, phone, held=(person_id, phone) in on_hold)
            recipients.append(recipient)
            by_phone[phone] = recipient
    return result


# --- composing ----------------------------------------------------------------------------

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
    from organizer.sms import actions_link

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


def audience_of(mobilization: Mobilization, actor: User) -> AudienceCount:
    """Who ``mobilization`` reaches: its audience as its author sees it (a leader's P2P text,
    their own list, even when staff look at it), the same for the preview, the draft page
    and the launch. Raises nothing."""
    owner = db.session.get(User, mobilization.created_by_id) if mobilization.created_by_id else None
    return resolve_audience(owner or actor, AudienceFilter.from_json(mobilization.audience), mobilization.id)


def visible_mobilizations(user: User):
    """Mobilizations ``user`` may see: staff all, a leader their own."""
    stmt = select(Mobilization)
    if not user.is_staff:
        stmt = stmt.where(Mobilization.created_by_id == user.id)
    return stmt


def get_mobilization(user: User, mobilization_id: int) -> Mobilization:
    """The mobilization if ``user`` may see it.

    :raise NotFound: when there is none or it is not theirs.
    """
    from werkzeug.exceptions import NotFound

    mobilization = db.session.scalar(visible_mobilizations(user).where(Mobilization.id == mobilization_id))
    if mobilization is None:
        raise NotFound()
    return mobilization


# --- launching ----------------------------------------------------------------------------


def launch(mobilization: Mobilization, actor: User, *, now: datetime | None = None,
           schedule_at: datetime | None = None) -> AudienceCount:
    """Launch a draft now or at ``schedule_at``: every recipient's outbox row is written in
    this transaction (the caller commits, then dispatches), exclusions are counted.

    A P2P mobilization writes no rows: its leader sends one text at a time.

    :raise MobilizationError: when the body cannot be sent, the schedule is in the past,
        the audience is empty after exclusions, or it was launched already (a second
        click, another tab): the status changes with a conditional UPDATE, so two
        launches cannot both pass.
    """
    now = now or utcnow()
    check_template(mobilization.body, has_action=mobilization.action_id is not None)
    if schedule_at is not None and schedule_at <= now:
        raise MobilizationError(_("The scheduled time has passed; choose a later time."), "schedule_at")
    target = MobilizationStatus.SCHEDULED if schedule_at else MobilizationStatus.SENDING
    moved = db.session.execute(
        update(Mobilization)
        .where(Mobilization.id == mobilization.id, Mobilization.status == MobilizationStatus.DRAFT)
        .values(status=target, launched_at=now, scheduled_at=schedule_at),
        execution_options={"synchronize_session": False},
    ).rowcount
    if moved != 1:
        raise MobilizationError(_("This mobilization was launched already."))
    db.session.refresh(mobilization)
    audience = audience_of(mobilization, actor)
    if not audience.recipients:
        raise MobilizationError(_("Nobody in this audience can be texted."))
    mobilization.recipients = audience.count
    mobilization.excluded_opted_out = audience.opted_out
    mobilization.excluded_no_phone = audience.no_phone
    mobilization.excluded_invalid = audience.invalid_phone
    mobilization.excluded_duplicate = audience.duplicate
    if mobilization.kind is MobilizationKind.BROADCAST:
        insert_outbox_rows(mobilization, audience.recipients, schedule_at or now, now)
        if target is MobilizationStatus.SENDING:
            note_dispatch("mobilization", mobilization.id)
    record(actor, "schedule" if schedule_at else "launch", mobilization,
           {"recipients": audience.count, "excluded": audience.excluded})
    return audience


OUTBOX_INSERT_IDS = 10_000  # people ids per INSERT ... SELECT (SQLite allows 32,766 parameters)


def insert_outbox_rows(mobilization: Mobilization, recipients: Sequence[Recipient], not_before: datetime,
                       now: datetime) -> int:
    """Write one queued row per recipient. Returns the count.

    Bodies differ only by the first name, so each distinct name is rendered and measured once
    (encoding, segments) in Python; the rows themselves are written by the database with
    ``INSERT ... SELECT`` from ``people``, the body rendered there with ``replace()``: one
    statement per encoding and segment count (a handful) and ``OUTBOX_INSERT_IDS`` people,
    instead of 50,000 parameter sets to convert and bind one by one.

    :raise MobilizationError: when a rendered text is longer than a text can carry.
    """
    template = full_body(mobilization)
    analyzed: dict[str, encoding.BodyInfo] = {}  # by first name: bodies differ only there
    groups: dict[tuple[str, int, bool], list[int]] = {}
    households: list[tuple[Recipient, str, encoding.BodyInfo]] = []
    for r in recipients:
        name = r.greeting_name
        info = analyzed.get(name)
        if info is None:
            info = analyzed[name] = encoding.analyze(render(template, {"first_name": name}))
            if info.too_long:
                raise MobilizationError(_("The text for %(name)s is longer than %(max)d characters.",
                                          name=name, max=encoding.MAX_BODY_CHARS), "body")
        if name != r.first_name:
            households.append((r, name, info))
        else:
            groups.setdefault((info.encoding, info.segments, r.held), []).append(r.person_id)
    _insert_household_rows(mobilization, template, households, not_before, now)
    table = OutboxMessage.__table__
    # The name as ``resolve_audience`` takes it: the preferred name unless blank.
    name = func.coalesce(func.nullif(Person.preferred_name, ""), Person.first_name)
    columns = ["mobilization_id", "person_id", "phone", "body", "encoding", "segments", "kind", "status",
               "attempts", "not_before", "created_at", "updated_at", "sent_by_id"]
    for (body_encoding, segments, held), ids in groups.items():
        # A held recipient's text is written but waits for staff (a number shared across lists).
        status = OutboxStatus.HELD if held else OutboxStatus.QUEUED
        for start in range(0, len(ids), OUTBOX_INSERT_IDS):
            rows = select(
                literal(mobilization.id), Person.id, Person.phone,
                func.replace(literal(template), "{first_name}", name),
                literal(body_encoding, table.c.encoding.type), literal(segments),
                literal(MessageKind.MOBILIZATION, table.c.kind.type), literal(status, table.c.status.type),
                literal(0), literal(not_before, table.c.not_before.type), literal(now, table.c.created_at.type),
                literal(now, table.c.updated_at.type), literal(None, table.c.sent_by_id.type),
            ).where(Person.id.in_(ids[start:start + OUTBOX_INSERT_IDS]))
            db.session.execute(insert(table).from_select(columns, rows))
    return len(recipients)


def _insert_household_rows(mobilization: Mobilization, template: str,
                           households: Sequence[tuple[Recipient, str, encoding.BodyInfo]],
                           not_before: datetime, now: datetime) -> None:
    """The texts to shared numbers, addressed to everyone there: few (households), so written
    with their bodies rendered here rather than by the database's ``replace()``. The row
    belongs to the first person, so replies thread with them (``person_for_phone``)."""
    if not households:
        return
    db.session.execute(insert(OutboxMessage.__table__), [{
        "mobilization_id": mobilization.id, "person_id": r.person_id, "phone": r.phone,
        "body": render(template, {"first_name": name}), "encoding": info.encoding, "segments": info.segments,
        "kind": MessageKind.MOBILIZATION, "status": OutboxStatus.QUEUED, "attempts": 0,
        "not_before": not_before, "created_at": now, "updated_at": now, "sent_by_id": None,
    } for r, name, info in households])


def _sendable(body: str) -> encoding.BodyInfo:
    """The encoding and segments of a rendered text.

    :raise MobilizationError: when it is empty or longer than a text can carry.
    """
    if not body.strip():
        raise MobilizationError(_("Write the text to send."), "body")
    info = encoding.analyze(body)
    if info.too_long:
        raise MobilizationError(_("A text can carry at most %(max)d characters.", max=encoding.MAX_BODY_CHARS),
                                "body")
    return info


#: Texts that answer the number's own text (they go to whoever wrote): never held.
ANSWER_KINDS = frozenset({MessageKind.AUTO_REPLY, MessageKind.OPT_OUT_CONFIRMATION})


def is_on_hold(person: Person | None, phone: str) -> bool:
    """Whether texts to ``person`` at ``phone`` wait for staff (a number shared across lists
    that staff have not allowed). One query, none without a person."""
    return person is not None and (person.id, phone) in phones_on_hold([person.id])


def queue_text(phone: str, body: str, kind: MessageKind, *, person: Person | None = None,
               sent_by: User | None = None, mobilization_id: int | None = None,
               not_before: datetime | None = None) -> OutboxMessage:
    """Write one outbox row (a reply, a test, an automatic answer) and note it for dispatch;
    a text to a person whose number is on hold is written ``held`` and not dispatched.

    :raise MobilizationError: when the body is empty or too long.
    """
    info = _sendable(body)
    now = utcnow()
    held = kind not in ANSWER_KINDS and is_on_hold(person, phone)
    row = OutboxMessage(
        mobilization_id=mobilization_id, person_id=person.id if person else None, phone=phone, body=body,
        encoding=info.encoding, segments=info.segments, kind=kind,
        status=OutboxStatus.HELD if held else OutboxStatus.QUEUED, attempts=0,
        not_before=not_before or now, created_at=now, updated_at=now, sent_by_id=sent_by.id if sent_by else None,
    )
    db.session.add(row)
    db.session.flush()
    if not held:
        note_dispatch("row", row.id)
    return row


def test_numbers(user: User) -> list[str]:
    """Where ``user``'s test texts may go: the phone of their own person record (unless it
    waits for staff as a number shared across lists), then the numbers an admin verified for
    them. Never a number typed on the page: a test must not become a way to text strangers.
    Raises nothing."""
    numbers: list[str] = []
    own = user.person
    if own is not None and own.phone and not is_on_hold(own, own.phone):
        numbers.append(own.phone)
    for phone in db.session.scalars(
            select(VerifiedNumber.phone).where(VerifiedNumber.user_id == user.id).order_by(VerifiedNumber.id)):
        if phone not in numbers:
            numbers.append(phone)
    return numbers


def test_sends_left(user: User, now: datetime | None = None) -> int:
    """How many more test texts ``user`` may send now (``SMS_TEST_SENDS_PER_DAY`` in any 24
    hours). One query."""
    from datetime import timedelta

    now = now or utcnow()
    sent = db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == MessageKind.TEST, OutboxMessage.sent_by_id == user.id,
        OutboxMessage.created_at > now - timedelta(hours=24))) or 0
    return max(int(current_app.config.get("SMS_TEST_SENDS_PER_DAY", 10)) - sent, 0)


def test_send(mobilization: Mobilization, actor: User, phone: str, now: datetime | None = None) -> OutboxMessage:
    """Send the text as the first recipient would get it to ``phone``, one of the actor's
    :func:`test_numbers`, within their daily allowance.

    :raise MobilizationError: (field "test_phone") when the number is not one of theirs, the
        allowance is used up, the body cannot be sent or the number may not be texted.
    """
    check_template(mobilization.body, has_action=mobilization.action_id is not None)
    if phone not in test_numbers(actor):
        raise MobilizationError(_("A test goes only to your own phone on file or to a number an admin verified "
                                  "for you."), "test_phone")
    # Taken in turn per user (PostgreSQL), so two tests at once cannot both pass the allowance.
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    if test_sends_left(actor, now) <= 0:
        raise MobilizationError(_("You have sent the most test texts allowed in 24 hours (%(count)d). Try again "
                                  "later.", count=int(current_app.config.get("SMS_TEST_SENDS_PER_DAY", 10))),
                                "test_phone")
    own = actor.person
    reason = blocked_reason(phone, None)
    if reason:
        raise MobilizationError(_("That number cannot be texted (%(reason)s).", reason=reason_label(reason)),
                                "test_phone")
    first = (own.preferred_name or own.first_name) if own else actor.name.split(" ")[0]
    body = render(full_body(mobilization), {"first_name": first})
    row = queue_text(phone, body, MessageKind.TEST, person=own if own and own.phone == phone else None, sent_by=actor)
    record(actor, "test_send", mobilization, {"phone": phone})
    return row


# --- lifecycle ----------------------------------------------------------------------------


def cancel(mobilization: Mobilization, actor: User, now: datetime | None = None) -> int:
    """Stop a mobilization: every text not yet handed to Twilio is canceled (a worker that
    claimed one re-checks before sending). Returns how many were canceled.

    :raise MobilizationError: when it is already done or canceled.
    """
    now = now or utcnow()
    if mobilization.status in (MobilizationStatus.DONE, MobilizationStatus.CANCELED):
        raise MobilizationError(_("This mobilization is finished already."))
    mobilization.status = MobilizationStatus.CANCELED
    mobilization.canceled_at = now
    canceled = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.mobilization_id == mobilization.id, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.CANCELED, error_message="mobilization canceled", updated_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    record(actor, "cancel", mobilization, {"canceled_texts": canceled})
    return canceled


def resume(mobilization: Mobilization, actor: User) -> None:
    """Resume a paused mobilization (after an automatic pause, once the cause is understood).

    :raise MobilizationError: when it is not paused.
    """
    if mobilization.status is not MobilizationStatus.PAUSED:
        raise MobilizationError(_("Only a paused mobilization can be resumed."))
    mobilization.status = MobilizationStatus.SENDING
    mobilization.paused_at = None
    mobilization.paused_reason = None
    mobilization.heartbeat_at = None
    record(actor, "resume", mobilization)
    note_dispatch("mobilization", mobilization.id)


def pause(mobilization_id: int, reason: str, now: datetime | None = None) -> bool:
    """Pause a sending mobilization (conditional UPDATE: only from "sending"). Returns True
    when it paused now. Raises nothing."""
    now = now or utcnow()
    paused = db.session.execute(
        update(Mobilization)
        .where(Mobilization.id == mobilization_id, Mobilization.status == MobilizationStatus.SENDING)
        .values(status=MobilizationStatus.PAUSED, paused_at=now, paused_reason=reason[:255]),
        execution_options={"synchronize_session": False},
    ).rowcount
    if paused:
        record(None, "auto_pause", None, {"reason": reason}, object_type="sms_mobilizations",
               summary=f"mobilization {mobilization_id} paused: {reason}"[:255])
    return bool(paused)


@dataclass
class Progress:
    """Counts of a mobilization's texts, for the progress bar and the results."""

    total: int = 0
    queued: int = 0
    in_flight: int = 0
    sent: int = 0  # accepted by Twilio (any later status)
    delivered: int = 0
    failed: int = 0  # failed or undelivered
    canceled: int = 0
    unknown: int = 0
    held: int = 0  # waiting for staff: a number shared across lists
    opted_out_after: int = 0
    replied: int = 0
    rsvped: int = 0

    @property
    def processed(self) -> int:
        return self.total - self.queued - self.in_flight - self.held

    @property
    def percent(self) -> int:
        return round(100 * self.processed / self.total) if self.total else 0


def progress(mobilization: Mobilization) -> Progress:
    """The mobilization's counts: outbox by status, then replies, opt-outs and RSVPs."""
    result = progress_summaries([mobilization.id])[mobilization.id]
    if mobilization.launched_at is not None:
        texted = select(OutboxMessage.phone).where(
            OutboxMessage.mobilization_id == mobilization.id, OutboxMessage.sid.is_not(None)
        )
        replied, opted = db.session.execute(
            select(
                func.count(func.distinct(InboundMessage.from_phone)),
                func.count(func.distinct(case((InboundMessage.outcome == "opted_out", InboundMessage.from_phone)))),
            ).where(InboundMessage.from_phone.in_(texted), InboundMessage.received_at >= mobilization.launched_at)
        ).one()
        result.replied, result.opted_out_after = replied, opted
        from organizer.sms import actions_link

        result.rsvped = actions_link.rsvp_yes_count(mobilization)
    return result


def maybe_finish(mobilization_id: int, now: datetime | None = None) -> bool:
    """Mark a sending broadcast done once none of its texts waits or is in flight.
    Returns True when it finished now. Raises nothing."""
    now = now or utcnow()
    waiting = select(OutboxMessage.id).where(
        OutboxMessage.mobilization_id == mobilization_id,
        or_(OutboxMessage.status == OutboxStatus.QUEUED,
            and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.sid.is_(None))),
    ).exists()
    return bool(db.session.execute(
        update(Mobilization)
        .where(Mobilization.id == mobilization_id, Mobilization.status == MobilizationStatus.SENDING,
               Mobilization.kind == MobilizationKind.BROADCAST, ~waiting)
        .values(status=MobilizationStatus.DONE, finished_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount)


# --- P2P: a leader texts their own people one at a time -------------------------------------


def p2p_next(mobilization: Mobilization, user: User) -> tuple[Recipient | None, int]:
    """The next person to text in a P2P mobilization, and how many are left. Raises nothing."""
    audience = resolve_audience(user, AudienceFilter.from_json(mobilization.audience), mobilization.id)
    return (audience.recipients[0] if audience.recipients else None), audience.count


def may_send_p2p(mobilization: Mobilization, user: User) -> bool:
    """A leader's P2P texts speak in the leader's own voice ("it's Fatima..."): only that
    leader sends them. Staff may watch; a P2P staff wrote stays open to staff. Raises nothing."""
    author = mobilization.created_by
    return author is None or not author.is_leader or author.id == user.id


def p2p_send(mobilization: Mobilization, user: User, person_id: int, *, skip: bool = False) -> OutboxMessage:
    """Send (or skip) the P2P text to one person of the leader's list; that person's thread
    is assigned to the leader. A person whose number waits for staff gets the text ``held``.

    :raise MobilizationError: when the mobilization is not sending, ``user`` is not the leader
        who wrote it (see :func:`may_send_p2p`), the person is not one the leader may text
        now, or was texted already (a double click).
    """
    if mobilization.kind is not MobilizationKind.P2P or mobilization.status is not MobilizationStatus.SENDING:
        raise MobilizationError(_("This mobilization is not being sent."))
    if not may_send_p2p(mobilization, user):
        raise MobilizationError(_("Only %(name)s can send these texts: they go out in their name.",
                                  name=mobilization.created_by.name))
    audience = resolve_audience(user, AudienceFilter.from_json(mobilization.audience), mobilization.id)
    recipient = next((r for r in audience.recipients if r.person_id == person_id), None)
    if recipient is None:
        raise MobilizationError(_("This person was texted already or cannot be texted."))
    body = render(full_body(mobilization), {"first_name": recipient.greeting_name})
    info = _sendable(body)  # the action's title and place can push a checked template over
    now = utcnow()
    status = OutboxStatus.CANCELED if skip else OutboxStatus.HELD if recipient.held else OutboxStatus.QUEUED
    row = OutboxMessage(
        mobilization_id=mobilization.id, person_id=person_id, phone=recipient.phone, body=body,
        encoding=info.encoding, segments=info.segments, kind=MessageKind.MOBILIZATION,
        status=status, attempts=0, not_before=now,
        created_at=now, updated_at=now, sent_by_id=user.id, error_message="skipped" if skip else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        raise MobilizationError(_("This person was texted already or cannot be texted.")) from None
    if not skip:
        # The thread of this person at this number, not of the number: a text to one of
        # several people sharing a phone opens nobody else's texts.
        conversation = conversation_for(recipient.phone, person_id, now)
        conversation.assigned_to_id = user.id
        if status is OutboxStatus.QUEUED:
            note_dispatch("row", row.id)
    return row


def finish_p2p(mobilization: Mobilization, actor: User, now: datetime | None = None) -> None:
    """The leader is done with their list (or there is nobody left).

    :raise MobilizationError: when it is not a sending P2P mobilization.
    """
    if mobilization.kind is not MobilizationKind.P2P or mobilization.status is not MobilizationStatus.SENDING:
        raise MobilizationError(_("This mobilization is not being sent."))
    mobilization.status = MobilizationStatus.DONE
    mobilization.finished_at = now or utcnow()
    record(actor, "finish", mobilization)


# --- the inbox ----------------------------------------------------------------------------


def conversation_for(phone: str, person_id: int | None, now: datetime) -> Conversation:
    """The thread of ``person_id`` at ``phone`` (``None``: the unknown-contact thread of the
    number), created if new. Raises nothing."""
    who = Conversation.person_id == person_id if person_id is not None else Conversation.person_id.is_(None)
    this_thread = select(Conversation).where(Conversation.phone == phone, who)
    conversation = db.session.scalar(this_thread)
    if conversation is None:
        try:
            with db.session.begin_nested():
                conversation = Conversation(phone=phone, person_id=person_id, unread=0, last_message_at=now,
                                            created_at=now)
                db.session.add(conversation)
        except IntegrityError:  # another request created it meanwhile
            conversation = db.session.scalars(this_thread).one()
    return conversation


def person_for_phone(phone: str) -> int | None:
    """Whose thread a text from ``phone`` goes to: among the people with that number who are
    free to be texted at it (a record waiting for staff as a number shared across lists is
    left out, so typing someone else's number opens none of their replies), the one we
    texted last from a thread or a mobilization, else the oldest record not archived.
    ``None`` when there is nobody: the number is an unknown contact, for staff. Three queries.
    Raises nothing."""
    holders = db.session.execute(
        select(Person.id, Person.archived_at).where(Person.phone == phone).order_by(Person.id)
    ).all()
    if not holders:
        return None
    on_hold = {pid for pid, held_phone in phones_on_hold([h.id for h in holders]) if held_phone == phone}
    free = [h for h in holders if h.id not in on_hold]
    if not free:
        return None
    texted = db.session.scalar(
        select(OutboxMessage.person_id)
        .where(OutboxMessage.phone == phone, OutboxMessage.person_id.in_([h.id for h in free]),
               OutboxMessage.status.not_in([OutboxStatus.CANCELED, OutboxStatus.HELD]))
        .order_by(OutboxMessage.id.desc()).limit(1)
    )
    if texted:
        return texted
    active = [h.id for h in free if h.archived_at is None]
    return active[0] if active else None


def also_at_number(user: User, conversation: Conversation) -> list[Person]:
    """The other people at a thread's number that ``user`` may see (a household sharing a
    phone): a mobilization's one text to the number was addressed to them too, so its replies
    may be theirs. Records waiting for staff (a number shared across lists) and archived ones
    are left out. One query. Raises nothing."""
    if conversation.person_id is None:
        return []
    held = select(PhoneConflict.person_id).where(PhoneConflict.phone == conversation.phone,
                                                 PhoneConflict.status != PhoneConflictStatus.ALLOWED)
    return list(db.session.scalars(
        select(Person).where(Person.phone == conversation.phone, Person.id != conversation.person_id,
                             Person.archived_at.is_(None), Person.id.not_in(held), people_visible_to(user))
        .order_by(Person.id).limit(10)))


def conversations_visible_to(user: User) -> ColumnElement[bool]:
    """Threads ``user`` may read: staff all; a leader those of people they own now. Being
    assigned a thread (a P2P text, an organizer's choice) grants nothing more: once the person
    is someone else's, so are their texts. Unknown numbers: staff only."""
    if user.is_staff:
        return Conversation.id.is_not(None)
    return and_(Conversation.person_id.is_not(None),
                Conversation.person_id.in_(select(Person.id).where(people_visible_to(user))))


def inbox(user: User, which: str = "all", page: int = 1, per_page: int = 50) -> tuple[list[Conversation], int]:
    """A page of threads, newest first, and the total (fixed number of queries).

    ``which``: "mine" (assigned to ``user``), "unassigned", "review" (a possible opt-out
    to confirm), "unread" or "all".
    """
    from sqlalchemy.orm import joinedload

    stmt = select(Conversation).where(conversations_visible_to(user))
    if which == "mine":
        stmt = stmt.where(Conversation.assigned_to_id == user.id)
    elif which == "unassigned":
        stmt = stmt.where(Conversation.assigned_to_id.is_(None))
    elif which == "unread":
        stmt = stmt.where(Conversation.unread > 0)
    elif which == "review":
        flagged = select(InboundMessage.conversation_id).where(InboundMessage.needs_review)
        stmt = stmt.where(Conversation.id.in_(flagged))
    one_page, total = paged(stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()), page, per_page)
    threads = db.session.scalars(one_page.options(joinedload(Conversation.person), joinedload(Conversation.assigned_to)))
    return list(threads), total


def unread_total(user: User, *, assigned_to: User | None = None) -> int:
    """Unread texts in the threads ``user`` may read (only those assigned to ``assigned_to``, if
    given). One query."""
    query = select(func.coalesce(func.sum(Conversation.unread), 0)).where(conversations_visible_to(user))
    if assigned_to is not None:
        query = query.where(Conversation.assigned_to_id == assigned_to.id)
    return db.session.scalar(query) or 0


def get_conversation(user: User, conversation_id: int) -> Conversation:
    """The thread if ``user`` may read it.

    :raise NotFound: when there is none or they may not.
    """
    from werkzeug.exceptions import NotFound

    conversation = db.session.scalar(
        select(Conversation).where(Conversation.id == conversation_id, conversations_visible_to(user))
    )
    if conversation is None:
        raise NotFound()
    return conversation


@dataclass(frozen=True)
class ThreadItem:
    when: datetime
    inbound: bool
    body: str
    status: str
    author: str
    message: InboundMessage | None = None


def thread(conversation: Conversation, limit: int = 200) -> list[ThreadItem]:
    """The last ``limit`` texts both ways of this thread, oldest first (two queries): the
    replies threaded with it, and our texts to its number addressed to its person (to nobody
    in particular, for an unknown contact's thread). Texts to another person sharing the
    number stay in that person's thread, so reading one never shows the other's."""
    from sqlalchemy.orm import joinedload

    inbound = db.session.scalars(
        select(InboundMessage).where(InboundMessage.conversation_id == conversation.id)
        .order_by(InboundMessage.id.desc()).limit(limit)
    ).all()
    addressed = (OutboxMessage.person_id == conversation.person_id if conversation.person_id is not None
                 else OutboxMessage.person_id.is_(None))
    outbound = db.session.scalars(
        select(OutboxMessage).options(joinedload(OutboxMessage.sent_by))
        .where(OutboxMessage.phone == conversation.phone, addressed, OutboxMessage.status != OutboxStatus.CANCELED)
        .order_by(OutboxMessage.id.desc()).limit(limit)
    ).all()
    items = [ThreadItem(m.received_at, True, m.body, m.outcome or "", "", m) for m in inbound]
    items += [ThreadItem(o.created_at, False, o.body, o.status.value, o.sent_by.name if o.sent_by else "")
              for o in outbound]
    return sorted(items, key=lambda i: i.when)[-limit:]


def mark_read(conversation: Conversation) -> None:
    """Reading a thread clears its unread count. Raises nothing."""
    conversation.unread = 0


def reply(conversation: Conversation, actor: User, body: str, now: datetime | None = None) -> OutboxMessage:
    """Answer a thread (one the actor may read: see :func:`get_conversation`): an outbox row
    without a mobilization, sent by the worker, or ``held`` when the thread's person shares
    the number across lists and staff have not decided yet.

    :raise InboxError: when the body is empty or too long, or the number may not be texted.
    """
    now = now or utcnow()
    person = db.session.get(Person, conversation.person_id) if conversation.person_id else None
    reason = blocked_reason(conversation.phone, person)
    if reason:
        raise InboxError(_("This number cannot be texted (%(reason)s).", reason=reason_label(reason)))
    try:
        row = queue_text(conversation.phone, body.strip(), MessageKind.REPLY, person=person, sent_by=actor)
    except MobilizationError as exc:
        raise InboxError(str(exc)) from None
    conversation.last_message_at = now
    conversation.unread = 0
    if conversation.assigned_to_id is None:
        conversation.assigned_to_id = actor.id
    record(actor, "reply", conversation, {"outbox_id": row.id}, summary=f"reply to {conversation.phone}")
    return row


def assignable_users(conversation: Conversation) -> list[User]:
    """Who a thread can be given to: active staff, and the leader who owns the person (a leader
    sees no thread of anybody else's, so giving them one would hide it from everyone)."""
    from organizer.auth.models import Role

    owner_id = conversation.person.owner_id if conversation.person is not None else None
    who = or_(User.role != Role.LEADER, User.id == owner_id) if owner_id else User.role != Role.LEADER
    return list(db.session.scalars(select(User).where(User.active.is_(True), who).order_by(User.name)))


def assign(conversation: Conversation, assignee: User | None, actor: User) -> None:
    """Give a thread to an organizer or leader (or to nobody). Raises nothing."""
    conversation.assigned_to_id = assignee.id if assignee else None
    record(actor, "assign", conversation, {"assigned_to_id": conversation.assigned_to_id},
           summary=f"thread {conversation.phone}")


def match_person(conversation: Conversation, person: Person, actor: User) -> Conversation:
    """Say who an unknown number belongs to (staff; the person must be visible to them).
    Its texts join the person's thread at that number (merged into it when there is one).
    Returns the person's thread.

    :raise InboxError: when the person has another phone number on file.
    """
    if person.phone and person.phone != conversation.phone:
        raise InboxError(_("This person has another phone number; change it on their page first."))
    if not person.phone:
        person.phone = conversation.phone
    # Our texts to the number while it was nobody's are now to this person.
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.phone == conversation.phone, OutboxMessage.person_id.is_(None))
        .values(person_id=person.id), execution_options={"synchronize_session": False},
    )
    theirs = db.session.scalar(select(Conversation).where(Conversation.phone == conversation.phone,
                                                          Conversation.person_id == person.id))
    target = conversation
    if theirs is not None and theirs.id != conversation.id:
        target = theirs
        db.session.execute(
            update(InboundMessage).where(InboundMessage.conversation_id == conversation.id)
            .values(conversation_id=theirs.id), execution_options={"synchronize_session": False},
        )
        theirs.unread += conversation.unread
        theirs.last_message_at = max(theirs.last_message_at, conversation.last_message_at)
        if conversation.last_inbound_at and (theirs.last_inbound_at is None
                                             or conversation.last_inbound_at > theirs.last_inbound_at):
            theirs.last_inbound_at = conversation.last_inbound_at
        theirs.assigned_to_id = theirs.assigned_to_id or conversation.assigned_to_id
        db.session.delete(conversation)
    else:
        conversation.person_id = person.id
    db.session.execute(
        update(InboundMessage).where(InboundMessage.conversation_id == target.id)
        .values(person_id=person.id), execution_options={"synchronize_session": False},
    )
    record(actor, "match", target, {"person_id": person.id}, summary=f"thread {target.phone}")
    return target


def review_opt_out(message: InboundMessage, actor: User, *, confirm: bool, now: datetime | None = None) -> None:
    """An organizer decides on a text that looked like "stop texting me".

    Confirming opts the number out everywhere (source: who confirmed). Raises nothing.
    """
    now = now or utcnow()
    message.needs_review = False
    message.reviewed_at = now
    message.reviewed_by_id = actor.id
    if confirm:
        opt_out_phone(message.from_phone, f"reply confirmed by {actor.email}", now,
                      method=ConsentMethod.SMS_REVIEW, actor=actor)
        message.outcome = "opted_out"
    else:
        message.outcome = "not_opt_out"
    record(actor, "review_opt_out", message, {"confirmed": confirm}, object_type="sms_inbound",
           summary=f"{message.from_phone}: {message.body[:60]}")


# --- inbound texts ------------------------------------------------------------------------

OPT_OUT_CONFIRMATION = _("%(org)s: you are unsubscribed and will get no more texts. Reply START to resubscribe.")
DEFAULT_HELP = _("%(org)s: texts about our actions. Reply STOP to opt out.")


def language_of(person: Person | None) -> str:
    """The language to text ``person`` in: theirs when the app speaks it, else English."""
    language = person.preferred_language if person is not None else None
    return language if language in current_app.config.get("LANGUAGES", {}) else "en"


def in_their_language(person: Person | None, message: Any, **values: str) -> str:
    """An automatic text (``message``: a lazy string with ``%(name)s`` fields) in the
    person's language. Works in the worker too (no request needed). Raises nothing."""
    from flask_babel import force_locale

    with force_locale(language_of(person)):
        return str(message) % values


def _answers_made_it(person: Person, message: InboundMessage, now: datetime) -> bool:
    from organizer.sms import after_action

    return after_action.answer_made_it(person, message, now)


@dataclass
class InboundResult:
    message: InboundMessage | None
    duplicate: bool = False


def receive(message_sid: str, from_phone: str, to_phone: str, body: str,
            now: datetime | None = None, *, opt_out_type: str | None = None) -> InboundResult:
    """Record an inbound text and act on it: opt-out, opt-in, HELP, an RSVP answer, or a
    possible opt-out flagged for an organizer. Deduplicated on ``message_sid`` (Twilio
    retries webhooks): a second delivery changes nothing.

    Replies go out as outbox rows, never twice for one keyword: none where Twilio answers
    the keyword itself (STOP, HELP... on a standard number), and an opt-out confirmation
    only when the opt-out is new. ``opt_out_type``: Twilio's Advanced Opt-Out verdict
    (STOP, START, HELP) for words the federation configured there; it decides over our
    own keyword lists, and Twilio has sent the reply. The body is kept for the inbox either
    way. Raises nothing.
    """
    now = now or utcnow()
    if db.session.scalar(select(InboundMessage.id).where(InboundMessage.message_sid == message_sid)):
        return InboundResult(None, duplicate=True)
    conversation = conversation_for(from_phone, person_for_phone(from_phone), now)
    advanced = from_opt_out_type(opt_out_type)
    keyword = advanced or classify(body)
    message = InboundMessage(
        message_sid=message_sid, conversation_id=conversation.id, person_id=conversation.person_id,
        from_phone=from_phone, to_phone=to_phone, body=body, keyword=keyword.value, received_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:  # the same webhook, delivered twice at once
        return InboundResult(None, duplicate=True)
    conversation.unread += 1
    conversation.last_message_at = now
    conversation.last_inbound_at = now
    person = db.session.get(Person, conversation.person_id) if conversation.person_id else None
    org = get_organization()
    twilio_answered = advanced is not None or twilio_auto_replies(body)

    if keyword is Keyword.OPT_OUT:
        changed = opt_out_phone(from_phone, "SMS STOP reply", now)
        message.outcome = "opted_out"
        if changed and not twilio_answered:
            queue_text(from_phone, in_their_language(person, OPT_OUT_CONFIRMATION, org=org.name),
                       MessageKind.OPT_OUT_CONFIRMATION, person=person)
    elif keyword is Keyword.OPT_IN:
        opt_in_phone(from_phone, "SMS START reply")
        message.outcome = "opted_in"
    elif keyword in (Keyword.YES, Keyword.NO) and person is not None and _answers_made_it(person, message, now):
        pass  # a reply to "did you make it?": for staff to confirm, never an RSVP (sms.after_action)
    elif keyword in (Keyword.YES, Keyword.NO):
        from organizer.sms import rsvp_replies  # issue 14: RSVPs from replies (kept for the thread's Undo)

        answered = rsvp_replies.answer(message, person, now) if person else None
        if answered is not None:
            if answered:
                queue_text(from_phone, answered, MessageKind.AUTO_REPLY, person=person)
        elif keyword is Keyword.YES and blocked_reason(from_phone, person) == "opted out":
            opt_in_phone(from_phone, "SMS YES reply")
            message.outcome = "opted_in"
    elif keyword is Keyword.HELP:
        message.outcome = "help"
        if advanced is None and blocked_reason(from_phone, person) != "opted out":
            queue_text(from_phone, org.sms_help_text or in_their_language(person, DEFAULT_HELP, org=org.name),
                       MessageKind.AUTO_REPLY, person=person)
    elif keyword is Keyword.POSSIBLE_OPT_OUT:
        message.needs_review = True
        message.outcome = "flagged"
    elif keyword is Keyword.OTHER and person is not None:
        from organizer.sms import rsvp_replies  # issue 14: a yes, no or maybe in words

        answered = rsvp_replies.answer(message, person, now)
        if answered:
            queue_text(from_phone, answered, MessageKind.AUTO_REPLY, person=person)
    db.session.flush()
    return InboundResult(message)


def keep_unprocessed(message_sid: str, from_phone: str, to_phone: str, body: str, now: datetime, *,
                     opt_out_type: str | None = None) -> InboundMessage | None:
    """Store a text whose processing failed (``receive`` raised), so that it is never lost:
    Twilio does not deliver an incoming message again after an error answer. It goes to the
    staff-only thread of its number, flagged for review; a STOP in it still opts the number
    out, since that is what the person asked. ``None`` when it was stored already. The caller
    commits."""
    if db.session.scalar(select(InboundMessage.id).where(InboundMessage.message_sid == message_sid)):
        return None
    keyword = from_opt_out_type(opt_out_type) or classify(body)
    conversation = conversation_for(from_phone, None, now)
    message = InboundMessage(
        message_sid=message_sid, conversation_id=conversation.id, person_id=None, from_phone=from_phone,
        to_phone=to_phone, body=body, keyword=keyword.value, received_at=now, needs_review=True,
        outcome="unprocessed",
    )
    db.session.add(message)
    conversation.unread += 1
    conversation.last_message_at = conversation.last_inbound_at = now
    if keyword is Keyword.OPT_OUT:
        opt_out_phone(from_phone, "SMS STOP reply", now)
        message.outcome = "opted_out"
    db.session.flush()
    return message


def pending_reviews(user: User, conversation: Conversation | None = None) -> list[InboundMessage]:
    """Texts that look like an opt-out and wait for an organizer (staff see all)."""
    stmt = (select(InboundMessage).join(Conversation, InboundMessage.conversation_id == Conversation.id)
            .where(InboundMessage.needs_review, conversations_visible_to(user)))
    if conversation is not None:
        stmt = stmt.where(InboundMessage.conversation_id == conversation.id)
    return list(db.session.scalars(stmt.order_by(InboundMessage.id)))


def recent_texts(person_id: int, limit: int = 5) -> list[OutboxMessage]:
    """The latest texts to a person (for their page), newest first. One query."""
    stmt = select(OutboxMessage).where(OutboxMessage.person_id == person_id)
    return list(db.session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(limit)))



def progress_summaries(mobilization_ids: Sequence[int]) -> dict[int, Progress]:
    """Counts for several mobilizations (the list page) in one query."""
    result = {mid: Progress() for mid in mobilization_ids}
    if not result:
        return result
    rows = db.session.execute(
        select(OutboxMessage.mobilization_id, OutboxMessage.status, OutboxMessage.sid.is_not(None), func.count())
        .where(OutboxMessage.mobilization_id.in_(list(result)))
        .group_by(OutboxMessage.mobilization_id, OutboxMessage.status, OutboxMessage.sid.is_not(None))
    ).all()
    for mid, status, has_sid, n in rows:
        p = result[mid]
        p.total += n
        p.sent += n if has_sid else 0
        if status is OutboxStatus.QUEUED:
            p.queued += n
        elif status is OutboxStatus.SENDING and not has_sid:
            p.in_flight += n
        elif status is OutboxStatus.DELIVERED:
            p.delivered += n
        elif status in (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED):
            p.failed += n
        elif status is OutboxStatus.CANCELED:
            p.canceled += n
        elif status is OutboxStatus.UNKNOWN:
            p.unknown += n
        elif status is OutboxStatus.HELD:
            p.held += n
    return result


def resolve_unknown(row: OutboxMessage, actor: User, *, resend: bool, now: datetime | None = None) -> None:
    """A person decides about a text whose outcome is unknown: send it again (they checked
    it did not arrive) or count it as sent.

    :raise MobilizationError: when the text is not in the unknown state.
    """
    if row.status is not OutboxStatus.UNKNOWN:
        raise MobilizationError(_("This text is not waiting for a decision."))
    now = now or utcnow()
    if resend:
        row.status = OutboxStatus.QUEUED
        row.not_before = now
        row.error_message = f"resent by {actor.email}"[:255]
        note_dispatch("row", row.id)
    else:
        row.status = OutboxStatus.SENT
        row.error_message = f"marked sent by {actor.email}"[:255]
    record(actor, "resolve_unknown", row, {"resend": resend}, object_type="sms_outbox", summary=row.phone)


# --- numbers shared across lists (staff decide) and verified test numbers -------------------


@dataclass
class SharedNumber:
    """A phone conflict as staff review it: the record, everyone else with the number, and
    how many texts to the record wait."""

    conflict: PhoneConflict
    others: list[Person]
    held: int


def phone_conflicts(*, decided: bool = False, limit: int = 100) -> list[SharedNumber]:
    """Open conflicts, oldest first (``decided``: the latest decisions). Staff only: it names
    people of every list. Three queries."""
    from sqlalchemy.orm import joinedload

    stmt = select(PhoneConflict).options(
        joinedload(PhoneConflict.person).joinedload(Person.owner), joinedload(PhoneConflict.created_by),
        joinedload(PhoneConflict.resolved_by),
    )
    if decided:
        stmt = stmt.where(PhoneConflict.status != PhoneConflictStatus.OPEN).order_by(
            PhoneConflict.resolved_at.desc(), PhoneConflict.id.desc())
    else:
        stmt = stmt.where(PhoneConflict.status == PhoneConflictStatus.OPEN).order_by(PhoneConflict.id)
    conflicts = list(db.session.scalars(stmt.limit(limit)).unique())
    phones = {c.phone for c in conflicts}
    holders: dict[str, list[Person]] = {}
    if phones:
        for person in db.session.scalars(select(Person).options(joinedload(Person.owner))
                                         .where(Person.phone.in_(phones)).order_by(Person.id)):
            holders.setdefault(person.phone or "", []).append(person)
    held: dict[tuple[int | None, str], int] = {}
    if conflicts:
        held = {(pid, phone): n for pid, phone, n in db.session.execute(
            select(OutboxMessage.person_id, OutboxMessage.phone, func.count())
            .where(OutboxMessage.status == OutboxStatus.HELD,
                   OutboxMessage.person_id.in_([c.person_id for c in conflicts]))
            .group_by(OutboxMessage.person_id, OutboxMessage.phone))}
    return [SharedNumber(c, [p for p in holders.get(c.phone, []) if p.id != c.person_id],
                         held.get((c.person_id, c.phone), 0)) for c in conflicts]


def open_conflict_count() -> int:
    """How many shared numbers wait for staff. One query."""
    return db.session.scalar(select(func.count(PhoneConflict.id)).where(
        PhoneConflict.status == PhoneConflictStatus.OPEN)) or 0


def get_phone_conflict(conflict_id: int) -> PhoneConflict:
    """:raise NotFound: when there is no such conflict."""
    from werkzeug.exceptions import NotFound

    conflict = db.session.get(PhoneConflict, conflict_id)
    if conflict is None:
        raise NotFound()
    return conflict


#: What staff may decide about a shared number.
CONFLICT_DECISIONS = ("allow", "duplicate", "archive")


def resolve_phone_conflict(conflict: PhoneConflict, decision: str, actor: User,
                           now: datetime | None = None) -> int:
    """Staff decide about a record that shares a number across lists:

    - ``allow``: a household sharing a phone; the record may be texted, its held texts go out;
    - ``duplicate``: the same person twice, to merge later; the record keeps its number but is
      never texted at it, and its held texts are canceled;
    - ``archive``: a duplicate taken off the lists at once (archived, held texts canceled).

    Returns how many held texts were released or canceled.

    :raise ConflictError: when it was decided already.
    :raise ValueError: for another ``decision``.
    """
    if decision not in CONFLICT_DECISIONS:
        raise ValueError(decision)
    if conflict.status is not PhoneConflictStatus.OPEN:
        raise ConflictError(_("Someone decided about this number already."))
    now = now or utcnow()
    conflict.status = PhoneConflictStatus.ALLOWED if decision == "allow" else PhoneConflictStatus.DUPLICATE
    conflict.resolved_by_id = actor.id
    conflict.resolved_at = now
    held = select(OutboxMessage.id).where(OutboxMessage.person_id == conflict.person_id,
                                          OutboxMessage.phone == conflict.phone,
                                          OutboxMessage.status == OutboxStatus.HELD)
    if decision == "allow":
        ids = list(db.session.scalars(held))
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(status=OutboxStatus.QUEUED, not_before=now, updated_at=now, error_message=None),
            execution_options={"synchronize_session": False},
        )
        for row_id in ids:
            note_dispatch("row", row_id)
        count = len(ids)
    else:
        count = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(held))
            .values(status=OutboxStatus.CANCELED, updated_at=now, error_message="duplicate record, not sent"),
            execution_options={"synchronize_session": False},
        ).rowcount
    if decision == "archive":
        archive_person(conflict.person, actor)
    record(actor, "resolve_phone_conflict", conflict.person, {"phone": conflict.phone, "decision": decision,
                                                              "held_texts": count})
    return count


def verified_numbers() -> list[VerifiedNumber]:
    """Every verified test number, by user (the admin's page). One query."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        select(VerifiedNumber).options(joinedload(VerifiedNumber.user), joinedload(VerifiedNumber.verified_by))
        .join(User, User.id == VerifiedNumber.user_id).order_by(User.name, VerifiedNumber.id)
    ))


def verify_number(user: User, phone: str, actor: User) -> VerifiedNumber:
    """An admin says ``phone`` (E.164) is ``user``'s: their test texts may go there.

    :raise InboxError: when it is verified for them already.
    """
    if db.session.scalar(select(VerifiedNumber.id).where(VerifiedNumber.user_id == user.id,
                                                         VerifiedNumber.phone == phone)):
        raise InboxError(_("This number is verified for %(name)s already.", name=user.name))
    number = VerifiedNumber(user_id=user.id, phone=phone, verified_by_id=actor.id, verified_at=utcnow())
    db.session.add(number)
    db.session.flush()
    record(actor, "verify_number", number, {"user_id": user.id, "phone": phone}, summary=f"{user.email}: {phone}")
    return number


def remove_verified_number(number: VerifiedNumber, actor: User) -> None:
    """An admin takes a verified test number back. Raises nothing."""
    record(actor, "remove_verified_number", number, {"user_id": number.user_id, "phone": number.phone},
           summary=number.phone)
    db.session.delete(number)
