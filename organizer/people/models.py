"""People: the residents the federation organizes."""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, event, text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from organizer.db import UTCDateTime, str_enum, utcnow
from organizer.extensions import db
from organizer.settings.models import Neighborhood, Tag

if TYPE_CHECKING:
    from organizer.auth.models import User
    from organizer.institutions.models import Membership


class SmsConsent(enum.StrEnum):
    """Whether we may text this person. Opted out is final until they opt back in themselves."""

    UNKNOWN = "unknown"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class PersonSource(enum.StrEnum):
    """How a person reached Organizer, when not typed in by a user (``None``)."""

    SIGNUP = "signup"  # the public sign-up page: nobody vouched for them yet
    WALK_IN = "walk_in"
    IMPORT = "import"


class ConsentMethod(enum.StrEnum):
    """How a change of texting consent happened."""

    WEB_FORM = "web_form"  # a user edited the person
    SIGNUP = "signup"  # the public sign-up page's consent box
    SMS_STOP = "sms_stop"  # the person texted STOP (or a synonym)
    SMS_START = "sms_start"  # the person texted START or YES to resubscribe
    SMS_REVIEW = "sms_review"  # an organizer confirmed that a reply meant "stop"
    IMPORT = "import"
    OTHER = "other"


class RaceEthnicity(enum.StrEnum):
    """Self-identified race/ethnicity categories; a person may choose several, or prefer not to say."""

    AMERICAN_INDIAN = "american_indian_alaska_native"
    ASIAN = "asian"
    BLACK = "black_african_american"
    HISPANIC = "hispanic_latino"
    MIDDLE_EASTERN = "middle_eastern_north_african"
    PACIFIC_ISLANDER = "native_hawaiian_pacific_islander"
    WHITE = "white"
    OTHER = "other"
    PREFER_NOT_TO_SAY = "prefer_not_to_say"


person_tags = Table(
    "person_tags",
    db.Model.metadata,
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class PersonRaceEthnicity(db.Model):
    """One self-identified race/ethnicity value of a person."""

    __tablename__ = "person_race_ethnicities"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[RaceEthnicity] = mapped_column(
        str_enum(RaceEthnicity, 40), primary_key=True
    )


SEARCH_KEY_LENGTH = 500


def fold(text: str) -> str:
    """``text`` as search compares it: accents dropped and case folded, so "garcia" finds "García"
    and "NUNEZ" finds "Núñez" whatever the database's own collation does."""
    if text.isascii():  # most names: NFKD leaves ASCII as it is, and casefold is lower (100,000-row imports)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def search_key_for(first_name: str | None, last_name: str | None, preferred_name: str | None,
                   email: str | None) -> str:
    # " | " keeps a search word from matching across two fields.
    parts = (f"{first_name or ''} {last_name or ''}", preferred_name or "", email or "")
    return fold(" | ".join(p.strip() for p in parts))[:SEARCH_KEY_LENGTH]


def _search_key_default(context: DefaultExecutionContext) -> str:
    """Fills the key for Core inserts (bulk loads) that bypass the ORM events below."""
    row = context.get_current_parameters()
    return search_key_for(row.get("first_name"), row.get("last_name"), row.get("preferred_name"),
                          row.get("email"))


NAME_KEY_LENGTH = 200
_NOT_ALNUM = re.compile(r"[\W_]")  # \w is str.isalnum() and "_"


def name_words(text: str | None) -> list[str]:
    """The words of a name, folded (accents and case aside) and without punctuation."""
    folded = fold(text or "")
    words = folded.split()
    # Most names have no punctuation: words that are letters and digits only are what the
    # substitution would give (whitespace is \W too), without it (100,000-row imports).
    if all(map(str.isalnum, words)):
        return words
    return _NOT_ALNUM.sub(" ", folded).split()


def name_key_for(first_name: str | None, last_name: str | None) -> str | None:
    """The name as duplicate finding compares it: accents, case, punctuation, word order and
    nicknames aside ("Pepe Garcia", "García, José" and "Jose GARCIA" share one key). ``None``
    for a one-word name, which alone is too weak to call anyone a duplicate."""
    from organizer.people.nicknames import canonical_given_name

    words = name_words(f"{first_name or ''} {last_name or ''}")
    if len(words) < 2:
        return None
    return " ".join(sorted(canonical_given_name(word) for word in words))[:NAME_KEY_LENGTH]


def _name_key_default(context: DefaultExecutionContext) -> str | None:
    """Fills the key for Core inserts (the bulk import) that bypass the ORM events below."""
    row = context.get_current_parameters()
    return name_key_for(row.get("first_name"), row.get("last_name"))


def display_name(first_name: str, preferred_name: str | None, last_name: str) -> str:
    """How a person is named on every page: the name they go by, then their last name. Rows
    read as columns (a page's RSVPs, a person's network) name them the same way."""
    return f"{preferred_name or first_name} {last_name}".strip()


class Person(db.Model):
    """A resident: somebody we have a relationship with, or want one."""

    __tablename__ = "people"
    __table_args__ = (
        Index("ix_people_owner_archived", "owner_id", "archived_at"),
        Index("ix_people_name", "last_name", "first_name"),
        # Each covering what a query reads: the keys held twice (likely duplicates) and the
        # data-quality counts come from index-only scans, and a name's twins are probed in id
        # order. ``archived_at`` is a column so that SQLite needs no table row to check it.
        # Phones and emails are looked up archived people included too (who is this number?),
        # so one index over everyone serves both; a second, partial one for the live cost every
        # insert a write (a 100,000-person import: 1-2 s each on PostgreSQL).
        Index("ix_people_phone_archived", "phone", "archived_at"),
        Index("ix_people_email_archived", "email", "archived_at"),
        Index("ix_people_live_name_key", "name_key", "archived_at", sqlite_where=text("archived_at IS NULL"),
              postgresql_where=text("archived_at IS NULL")),
        Index("ix_people_live_quality", "owner_id", "phone", "neighborhood_id", "preferred_language", "sms_consent",
              "archived_at", sqlite_where=text("archived_at IS NULL"), postgresql_where=text("archived_at IS NULL")),
        # The archived few, for counting the others without reading every row (unarchived_people_count).
        # Partial: holding only them, the planner never takes it for "archived_at IS NULL" (every
        # list's condition), which a plain index on a database not yet ANALYZEd made it do.
        Index("ix_people_archived_at", "archived_at", sqlite_where=text("archived_at IS NOT NULL"),
              postgresql_where=text("archived_at IS NOT NULL")),
        # A search counts its matches through this narrow index instead of the whole table.
        Index("ix_people_search_key_archived", "search_key", "archived_at"),
        # The names (and owner, who may see them) of people found by id, an action's 1,500 RSVPs
        # sorted by name to show 50, read from this narrow index, not each person's whole row
        # (2.6 ms -> 0.8 ms on SQLite). Led by the id, new people go at its end, not on a random page.
        Index("ix_people_id_names", "id", "last_name", "first_name", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80), default="")
    preferred_name: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))  # lower-cased
    address: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(16))  # ZIP or postal code, as written
    #: Phones besides the texting one (home, work: never texted), E.164 separated by ";".
    other_phones: Mapped[str | None] = mapped_column(String(255))
    neighborhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighborhoods.id", ondelete="SET NULL"), index=True
    )
    preferred_language: Mapped[str | None] = mapped_column(String(10))
    #: IANA zone the person lives in, when known; texts respect its quiet hours instead of
    #: the zones guessed from the phone's area code.
    timezone: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)  # organizer notes: staff only
    sms_consent: Mapped[SmsConsent] = mapped_column(
        str_enum(SmsConsent, 20),
        default=SmsConsent.UNKNOWN,
    )
    sms_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_consent_source: Mapped[str | None] = mapped_column(String(80))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[PersonSource | None] = mapped_column(str_enum(PersonSource, 20), index=True)
    # Names and email folded by ``fold``; every search matches against this column only.
    search_key: Mapped[str] = mapped_column(String(SEARCH_KEY_LENGTH), default=_search_key_default)
    # First and last name by ``name_key_for``: people with the same key are likely duplicates.
    name_key: Mapped[str | None] = mapped_column(String(NAME_KEY_LENGTH), default=_name_key_default)

    neighborhood: Mapped[Neighborhood | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=person_tags, order_by=Tag.name)
    race_ethnicities: Mapped[list[PersonRaceEthnicity]] = relationship(
        cascade="all, delete-orphan", order_by=PersonRaceEthnicity.value
    )
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        return display_name(self.first_name, self.preferred_name, self.last_name)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def race_ethnicity_values(self) -> list[RaceEthnicity]:
        return [r.value for r in self.race_ethnicities]

    def __str__(self) -> str:
        return self.display_name


class PersonExternalId(db.Model):
    """A person's id in another tool (Action Network, NationBuilder, VAN...), so that importing
    the same export again finds them instead of adding them twice."""

    __tablename__ = "person_external_ids"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_person_external_ids_source_external_id"),
        Index("ix_person_external_ids_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))  # a preset's key ("nationbuilder") or "file"
    external_id: Mapped[str] = mapped_column(String(100))


class ImportMapping(db.Model):
    """A column mapping a user saved under a name, offered beside the built-in presets:
    ``columns`` maps a column header (as the file writes it) to a field of the import."""

    __tablename__ = "people_import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    columns: Mapped[str] = mapped_column(Text)  # JSON object {header: field}
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentChange(db.Model):
    """One change of a person's texting consent: from what to what, when, how and by whom
    (``changed_by`` is empty when the person did it themselves, by text or sign-up)."""

    __tablename__ = "person_consent_changes"
    __table_args__ = (Index("ix_person_consent_changes_person_at", "person_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    method: Mapped[ConsentMethod] = mapped_column(str_enum(ConsentMethod, 20))
    from_consent: Mapped[SmsConsent | None] = mapped_column(str_enum(SmsConsent, 20))  # None: a new person
    to_consent: Mapped[SmsConsent] = mapped_column(str_enum(SmsConsent, 20))
    detail: Mapped[str | None] = mapped_column(String(120))

    person: Mapped[Person] = relationship()
    changed_by: Mapped[User | None] = relationship()


class DuplicateConflict(db.Model):
    """A leader saved a person whose phone or email another leader's person (or an unowned one)
    already has. The leader was told nothing about the other record; staff resolve it."""

    __tablename__ = "person_duplicate_conflicts"
    __table_args__ = (Index("ix_person_duplicate_conflicts_open", "resolved_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    other_person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    matched_on: Mapped[str] = mapped_column(String(20))  # "phone", "email" or "phone,email"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    other_person: Mapped[Person] = relationship(foreign_keys=[other_person_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


@event.listens_for(Person, "before_insert")
@event.listens_for(Person, "before_update")
def _refresh_search_key(_mapper: object, _connection: object, person: Person) -> None:
    person.search_key = search_key_for(person.first_name, person.last_name, person.preferred_name,
                                       person.email)
    person.name_key = name_key_for(person.first_name, person.last_name)


class DuplicateDismissal(db.Model):
    """A suggested pair of likely duplicates that a user said are two different people: the
    federation's decision, so the pair is no longer offered to anyone until it is undone.

    The pair is stored in one order only (``first_person_id`` the smaller id), so (a, b) and
    (b, a) are the same row under the unique constraint."""

    __tablename__ = "duplicate_dismissals"
    __table_args__ = (
        UniqueConstraint("first_person_id", "second_person_id"),
        CheckConstraint("first_person_id < second_person_id", name="ordered_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    second_person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    first_person: Mapped[Person] = relationship(foreign_keys=[first_person_id])
    second_person: Mapped[Person] = relationship(foreign_keys=[second_person_id])
    dismissed_by: Mapped[User | None] = relationship(foreign_keys=[dismissed_by_id])


class PersonMerge(db.Model):
    """Two records of one person made one: enough to undo it exactly within ``UNDO_DAYS``.

    ``merged_person`` is the merged-away person's whole row (the row itself is deleted);
    ``kept_before`` the kept person's fields before the merge; ``changes`` every row the merge
    touched: re-pointed (table, primary key, column, old value), dropped on a unique-constraint
    conflict (table and whole row), rows created, and rows restored wholesale on undo. The people
    ids are plain integers, not foreign keys: the merged-away id has no row while merged.
    """

    __tablename__ = "person_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_person_id: Mapped[int] = mapped_column(index=True)
    merged_person_id: Mapped[int] = mapped_column(index=True)
    merged_name: Mapped[str] = mapped_column(String(170))
    merged_person: Mapped[dict[str, Any]] = mapped_column(JSON)
    kept_before: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    merged_by: Mapped[User | None] = relationship(foreign_keys=[merged_by_id])


class PhoneConflictStatus(enum.StrEnum):
    """Where staff are with a number that a record shares with people outside its holder's list."""

    OPEN = "open"  # not reviewed yet: texts to this record wait (held)
    ALLOWED = "allowed"  # same household: both records may be texted
    DUPLICATE = "duplicate"  # the same person twice: this record stays untexted (to merge or archive)


class PhoneConflict(db.Model):
    """A record given a phone that already belongs to someone its author may not see.

    Noted when the record gets the number, so staff see it and the record is not texted
    (nor threaded with that number's replies) until they decide: without it a leader could
    type another leader's person's number and read that person's texts.
    """

    __tablename__ = "people_phone_conflicts"
    __table_args__ = (
        UniqueConstraint("person_id", "phone", name="uq_people_phone_conflicts_person_phone"),
        Index("ix_people_phone_conflicts_status_phone", "status", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))  # E.164, as the record had it then
    status: Mapped[PhoneConflictStatus] = mapped_column(
        str_enum(PhoneConflictStatus, 20), default=PhoneConflictStatus.OPEN
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
