"""Who a mobilization reaches: the audience filter, its SQL condition as the sender may see
it, and the recipients after exclusions (opted out, no phone, flagged, duplicates, on hold)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, false, func, or_, select, true

from organizer.actions.services import TURNOUT_LISTS, turnout_condition
from organizer.auth.models import User
from organizer.db import distinct_values, in_values
from organizer.extensions import db
from organizer.people.models import Person, SmsConsent, fold
from organizer.people.services import filter_conditions, people_visible_to, phones_on_hold
from organizer.sms import actions_link
from organizer.sms.models import Mobilization, OutboxMessage, PhoneFlag, PhoneOptOut


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
        clauses.append(actions_link.rsvp_condition(audience.rsvp_action_id, audience.rsvp_status))
    if audience.turnout:
        clauses.append(turnout_audience_condition(audience))
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
    #: Recipients a launch has the database write without listing them here (see
    #: :class:`LaunchAudience`): alone at their number, not held.
    unlisted: int = 0

    @property
    def count(self) -> int:
        return len(self.recipients) + self.unlisted

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
    result = AudienceCount(matched=len(rows))
    _assign(rows, result, already=already, seen_phones=seen_phones, blocked_numbers=blocked_numbers,
            flagged=flagged, on_hold=on_hold)
    return result


def _assign(rows: Sequence[Any], result: AudienceCount, *, already: set[int], seen_phones: set[str],
            blocked_numbers: set[str], flagged: set[str], on_hold: set[tuple[int, str]]) -> None:
    """Go through ``rows`` (id, first name, preferred name, phone, consent; in the order texts
    are given out) and add each to ``result``: a recipient, someone sharing an earlier
    recipient's number, or an exclusion. ``seen_phones`` gains the numbers given out. What
    happens to a row depends only on the rows before it at the same number, so the rows of
    some numbers may go through here alone (``launch_audience``). Raises nothing."""
    if on_hold:
        rows = ([r for r in rows if (r[0], r[3]) not in on_hold]
                + [r for r in rows if (r[0], r[3]) in on_hold])
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


def audience_of(mobilization: Mobilization, actor: User) -> AudienceCount:
    """Who ``mobilization`` reaches: its audience as its author sees it (a leader's P2P text,
    their own list, even when staff look at it), the same for the preview, the draft page
    and the launch (:func:`launch_audience`). Raises nothing."""
    return resolve_audience(_author(mobilization, actor), AudienceFilter.from_json(mobilization.audience),
                            mobilization.id)


def _author(mobilization: Mobilization, actor: User) -> User:
    owner = db.session.get(User, mobilization.created_by_id) if mobilization.created_by_id else None
    return owner or actor


def greeting_name() -> ColumnElement[str]:
    """The name ``{first_name}`` stands for, in SQL, as :func:`resolve_audience` takes it: the
    preferred name unless blank. Raises nothing."""
    return func.coalesce(func.nullif(Person.preferred_name, ""), Person.first_name)


def exclusion_reason(mobilization_id: int | None) -> ColumnElement[str | None]:
    """Why a person of an audience gets no text of their own, in SQL: the field of
    :class:`AudienceCount` they count in ("duplicate", "no_phone", "opted_out",
    "invalid_phone"), tested in the order :func:`resolve_audience` tests them; NULL for
    someone who may be texted. Numbers shared within the audience and numbers on hold are not
    judged here (see :func:`launch_audience`). Raises nothing."""
    whens = []
    if mobilization_id is not None:
        whens.append((Person.id.in_(select(OutboxMessage.person_id)
                                    .where(OutboxMessage.mobilization_id == mobilization_id)), "duplicate"))
    whens += [
        (or_(Person.phone.is_(None), Person.phone == ""), "no_phone"),
        # Opted out themselves, or the number was (by anyone who holds it, or before anyone did).
        (or_(Person.sms_consent == SmsConsent.OPTED_OUT, Person.phone.in_(select(PhoneOptOut.phone))),
         "opted_out"),
        (Person.phone.in_(select(PhoneFlag.phone)), "invalid_phone"),
    ]
    if mobilization_id is not None:
        whens.append((Person.phone.in_(select(OutboxMessage.phone)
                                       .where(OutboxMessage.mobilization_id == mobilization_id)), "duplicate"))
    return case(*whens, else_=None)


@dataclass
class LaunchAudience:
    """An audience as a launch writes it, without loading every person: ``count`` holds the
    exclusions and the recipients whose text is addressed here (a number shared within the
    audience, or on hold), listed; everyone else, alone at their number, is selected by
    ``unlisted_condition`` (on ``Person``) for the database to write, and ``unlisted_names``
    are the names they go by (so each body is rendered and measured once).

    When the audience shares numbers, ``unlisted_names`` may also hold names that only
    someone at such a number goes by (``names_exact`` is False): harmless for the texts, but
    ask :meth:`goes_by` before refusing a launch over one of them."""

    count: AudienceCount
    unlisted_condition: ColumnElement[bool]
    unlisted_names: list[str]
    names_exact: bool = True

    def goes_by(self, name: str) -> bool:
        """Whether someone of the unlisted goes by ``name`` (one query unless ``names_exact``).
        Raises nothing."""
        if self.names_exact:
            return name in self.unlisted_names
        return bool(db.session.scalar(
            select(select(Person.id).where(self.unlisted_condition, greeting_name() == name).exists())))


#: The fields of :class:`AudienceCount` an :func:`exclusion_reason` names.
REASONS = ("duplicate", "no_phone", "opted_out", "invalid_phone")


def launch_audience(mobilization: Mobilization, actor: User) -> LaunchAudience:
    """:func:`audience_of`, split so that a launch need not load its audience: the same
    recipients, exclusions and counts (``tests/sms/test_launch_in_sql.py`` compares them).

    The database judges every person (:func:`exclusion_reason`) and counts them by outcome in
    one pass over the audience, which also tells whether any number is shared within it and
    which names the texts need. Only the people at numbers several of the audience share, or
    on hold, are loaded and go through :func:`resolve_audience`'s rules (which depend only on
    the others at the same number). Whatever the size: the author, the numbers on hold, the
    one pass; then the numbers shared within the audience if it has fewer numbers than people,
    and the people at shared or held numbers if there are any. Raises nothing."""
    condition = audience_condition(_author(mobilization, actor), AudienceFilter.from_json(mobilization.audience))
    reason = exclusion_reason(mobilization.id)
    textable = and_(condition, reason.is_(None))
    on_hold = phones_on_hold()
    held = {phone for _person_id, phone in on_hold}
    # OFFSET 0 keeps SQLite and PostgreSQL from merging the subquery into the aggregates,
    # which would judge each person once per aggregate instead of once (most of the time).
    judged = (select(reason.label("reason"), greeting_name().label("name"), Person.phone.label("phone"))
              .where(condition).offset(0).subquery())
    # Free: may be texted, at a number not on hold; written by the database unless shared.
    free = judged.c.reason.is_(None)
    if held:
        free = and_(free, ~in_values(judged.c.phone, sorted(held)))
    total, *excluded, free_count, free_numbers, names = db.session.execute(select(
        func.count(), *(func.count().filter(judged.c.reason == why) for why in REASONS),
        func.count().filter(free), func.count(distinct(judged.c.phone)).filter(free),
        distinct_values(judged.c.name).filter(free),
    )).one()
    result = AudienceCount(matched=total, unlisted=free_count)
    for why, n in zip(REASONS, excluded, strict=True):
        setattr(result, why, n)
    shared: set[str] = set()
    if free_numbers < free_count:  # households: fewer numbers than people
        shared = set(db.session.scalars(
            select(Person.phone).where(textable).group_by(Person.phone).having(func.count() > 1)))
    special = sorted(shared | held)
    alone = ~in_values(Person.phone, special) if special else true()
    if special:
        rows = db.session.connection().execute(
            select(Person.id, Person.first_name, Person.preferred_name, Person.phone, Person.sms_consent)
            .where(textable, in_values(Person.phone, special))
            .order_by(Person.id)
        ).all()
        # Those at a shared number not on hold were counted free (unlisted); here they are listed.
        result.unlisted -= sum(1 for row in rows if row[3] not in held)
        _assign(rows, result, already=set(), seen_phones=set(), blocked_numbers=set(), flagged=set(),
                on_hold=on_hold)
    return LaunchAudience(result, and_(textable, alone), sorted(n for n in names or () if n is not None),
                          names_exact=not shared)


def turnout_audience_condition(audience: AudienceFilter) -> ColumnElement[bool]:
    """The condition on ``Person`` for the audience's turnout list (``sms.after_action``). A list
    without an action, or one not in ``TURNOUT_LISTS``, selects nobody rather than everybody.
    Raises nothing."""
    if audience.turnout not in TURNOUT_LISTS or audience.turnout_action_id is None:
        return false()
    return turnout_condition(audience.turnout_action_id, audience.turnout)
