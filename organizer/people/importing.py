"""Importing people from a spreadsheet saved as CSV: read, check every row, then add them all.

Three plain steps that the web page and ``flask people import`` share:

- ``check_import(user, data, ...)`` reads the bytes (UTF-8 with or without BOM, else Excel's
  cp1252/latin-1; comma or semicolon sniffed from the header) and checks every row without
  writing anything. It returns an ``ImportPlan``: the rows to add, the errors by line of the
  file (the header is line 1), and the rows that match people already in Organizer.
- ``import_people(user, plan, ...)`` adds the plan's rows in bulk, with one audit event;
  the caller commits once, so an import is all or nothing.
- ``check_and_import(user, data, ...)`` does both in one pass for ``flask people import`` and
  the worker: on PostgreSQL the checked rows are written while the rest of the file is being
  checked, and nothing is kept unless every row is good.
- ``save_upload`` / ``take_upload`` / ``discard_upload`` keep the uploaded bytes on the server
  between the preview and the confirmation, under a random token; the page never trusts rows
  sent back by the browser.
- ``run_background_import`` does both steps in the worker for a large file (the page answers at
  once), writing its progress beside the upload (``read_progress``) for the page to poll.

A row whose email already belongs to somebody, or whose phone does to somebody of the same
name, is never added again and nothing of the existing person is changed (a household shares
a phone: the second member with their own name is added). A phone typed without a country code
that is valid in more than one of the organization's countries is not guessed: the person is
added without it and the row is listed to resolve (``ImportPlan.to_resolve``). Matches the user may see are listed (line and name); matches
on people outside a leader's list are only counted, so the import reveals nobody's name.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import functools
import gc
import io
import json
import logging
import multiprocessing
import os
import queue
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, bindparam, insert, select, update
from sqlalchemy import Connection as DatabaseConnection

from organizer.audit.services import record
from organizer.auth.models import User
from organizer.db import in_values, insert_rows, reserve_ids, utcnow
from organizer.extensions import db
from organizer.forms import EmailAddress
from organizer.people.models import (
    ConsentChange,
    ConsentMethod,
    Person,
    PersonExternalId,
    PersonRaceEthnicity,
    PersonSource,
    RaceEthnicity,
    SmsConsent,
    display_name,
    fold,
    name_key_for,
    person_tags,
    search_key_for,
)
from organizer.people import search_index
from organizer.people.phones import Candidate, interpret_phone
from organizer.people.presets import (
    FIELDS,
    IGNORE,
    MULTIPLE,
    PRESETS,
    SENSITIVE,
    Preset,
    auto_mapping,
    detect_preset,
)
from organizer.people.services import PhoneError, normalize_phone, people_visible_to, record_imported_consents
from organizer.reports.data_version import bulk_inserts
from organizer.settings.models import Neighborhood, Tag
from organizer.settings.services import get_organization

log = logging.getLogger(__name__)

TAG_SEPARATOR = ";"  # within the tags cell, as the people export writes it
TAG_NAME_LENGTH = 80  # Tag.name
INSERT_CHUNK = 5_000  # people per executemany when importing (bounded memory per statement)
LOOKUP_CHUNK = 500  # phones/emails per query when looking for people already in Organizer

MAX_LENGTHS = {"first_name": 80, "last_name": 80, "preferred_name": 80, "email": 254, "address": 255,
               "city": 100, "postal_code": 16, "external_id": 100, "notes": 20000}
OTHER_PHONES_LENGTH = 255  # Person.other_phones
US_ZIP_AT_END = re.compile(r"\s(\d{5}(?:-\d{4})?)\s*$")

# Language cells: the codes of the person form, or a language's name in English, Spanish or itself.
LANGUAGES = {
    "en": ("english", "ingles"),
    "es": ("spanish", "espanol", "castellano"),
    "vi": ("vietnamese", "vietnamita", "tieng viet"),
    "zh": ("chinese", "chino", "mandarin", "cantonese", "cantones", "中文"),
    "ar": ("arabic", "arabe", "العربية"),
    "fr": ("french", "frances", "francais"),
    "ht": ("haitian creole", "creole", "kreyol", "criollo haitiano", "creole haitiano"),
    "pl": ("polish", "polaco", "polski"),
    "other": ("otro", "otra"),
}
LANGUAGE_FOR = {alias: code for code, aliases in LANGUAGES.items() for alias in (code, *aliases)}

# Consent cells. Other tools write "subscribed"/"unsubscribed" (Action Network), true/false
# (NationBuilder's mobile_opt_in), "Opted in"/"Not opted in" (Mobilize): a person who did not
# opt in there declined texts, and is not texted here either.
CONSENT_FOR = {
    **dict.fromkeys(("yes", "y", "si", "true", "t", "1", "x", "opted in", "opt in", "agreed", "acepto", "acepta",
                     "subscribed", "agreed to texts", "acepto los textos"), SmsConsent.OPTED_IN),
    **dict.fromkeys(("no", "n", "false", "f", "0", "opted out", "opt out", "stop", "baja", "unsubscribed",
                     "not opted in", "declined", "opted out of texts", "se dio de baja de los textos"),
                    SmsConsent.OPTED_OUT),
    **dict.fromkeys(("unknown", "not asked", "not asked yet", "desconocido", "no sabe", "bouncing", "pending",
                     "no se le ha preguntado", "unspecified"), SmsConsent.UNKNOWN),
    **{c.value.replace("_", " "): c for c in SmsConsent},  # the codes the people export writes
}
# A "do not text" cell: yes means opted out; no or blank says nothing about consent.
# VAN's "OptInStatus" (of its opt-in phone, not necessarily the one texted here) is read the
# same way: "Opt-Out" is honoured, "Opt-In" or "Unknown" say nothing about the texted phone.
OPT_OUT_YES = {"yes", "y", "si", "true", "t", "1", "x", "opted out", "do not text", "opt out", "o"}
OPT_OUT_NO = {"no", "n", "false", "f", "0", "", "opt in", "opted in", "i", "unknown", "u", "unspecified"}
# Race/ethnicity cells: the codes the staff export writes, or a few common words.
RACE_FOR = {
    **{r.value.replace("_", " "): r for r in RaceEthnicity},
    "hispanic": RaceEthnicity.HISPANIC, "latino": RaceEthnicity.HISPANIC, "latina": RaceEthnicity.HISPANIC,
    "latinx": RaceEthnicity.HISPANIC, "black": RaceEthnicity.BLACK, "white": RaceEthnicity.WHITE,
    "asian": RaceEthnicity.ASIAN, "other": RaceEthnicity.OTHER,
}

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")


class ImportFileError(ValueError):
    """A file that cannot be imported at all (not a CSV, too big, too many rows, no name column)."""


@dataclass
class LineError:
    """One problem in one cell: the line of the file, the column as the file names it, why."""

    line: int
    column: str
    message: str


@dataclass
class ImportRow:
    """A row ready to become a person (values normalized, lists resolved to ids)."""

    line: int
    first_name: str
    last_name: str = ""
    preferred_name: str | None = None
    phone: str | None = None  # E.164
    other_phones: list[str] = field(default_factory=list)  # E.164, never texted
    email: str | None = None  # lower-cased
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    neighborhood: Neighborhood | None = None
    preferred_language: str | None = None
    tags: list[Tag] = field(default_factory=list)
    new_tags: list[str] = field(default_factory=list)  # tags not on the list yet: created by the import
    sms_consent: SmsConsent | None = None
    race_ethnicities: list[RaceEthnicity] = field(default_factory=list)
    notes: str | None = None
    external_id: str | None = None
    # The keys search and duplicate finding read (``people.models``), made with the row's other
    # checks (by two processes for a large file) rather than while the people are written.
    search_key: str = field(init=False)
    name_key: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.search_key = search_key_for(self.first_name, self.last_name, self.preferred_name, self.email)
        self.name_key = name_key_for(self.first_name, self.last_name)


@dataclass
class PhoneToResolve:
    """A row whose phone could be read in several countries: the person is added without it,
    for someone to add the right reading on their page."""

    line: int
    name: str
    typed: str
    readings: tuple[Candidate, ...]


@dataclass
class ExistingMatch:
    """A row whose id in the other tool, phone or email belongs to a person the user may see: it
    adds nobody. The import only fills what that person lacks (ZIP, city, other phones, the id
    in the other tool) and applies an opt-out; it never makes them textable."""

    line: int
    person_id: int
    name: str
    row: ImportRow | None = None


@dataclass
class ImportPlan:
    """What an import would do: the rows to add, the errors, and the rows already in Organizer."""

    rows: list[ImportRow] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    existing: list[ExistingMatch] = field(default_factory=list)
    to_resolve: list[PhoneToResolve] = field(default_factory=list)
    hidden_matches: int = 0  # rows matching people the user may not see: counted, never named
    ignored_columns: list[str] = field(default_factory=list)
    notes_ignored: bool = False
    total_rows: int = 0
    header: list[str] = field(default_factory=list)
    mapping: list[str] = field(default_factory=list)  # a field per column (``presets.FIELDS``)
    preset: Preset | None = None
    source: str = "file"  # what external ids are kept under: the preset's key
    samples: list[list[str]] = field(default_factory=list)  # a few values of each column
    new_tags: list[str] = field(default_factory=list)
    repeated: int = 0  # rows repeating an earlier row's id in the other tool: the same person

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def skipped(self) -> int:
        return len(self.existing) + self.hidden_matches

    @property
    def without_phone(self) -> int:
        """People to add who will have no phone to text."""
        return sum(1 for row in self.rows if not row.phone)

    @property
    def opted_out(self) -> int:
        """Rows the file says declined texts (new people and people already here)."""
        return sum(1 for row in self.rows if row.sms_consent is SmsConsent.OPTED_OUT) + sum(
            1 for match in self.existing if match.row and match.row.sms_consent is SmsConsent.OPTED_OUT)

    @property
    def with_other_phones(self) -> int:
        return sum(1 for row in self.rows if row.other_phones)


# --- reading the file ---------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (a BOM dropped), else Windows-1252 as Excel saves it, else latin-1.

    :raise ImportFileError: when the bytes are not text (a workbook, an image).
    """
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:4096]:
        raise ImportFileError(_("This is not a CSV file. In your spreadsheet, choose File → Save as → "
                                "CSV, then upload that file."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return data.decode("latin-1")


def read_table(data: bytes | Path, *, max_bytes: int,
               max_rows: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows of a CSV file, each row with the line it starts on.

    ``data`` is the file's bytes, or its path: a path is measured before it is opened (an
    over-limit file is refused unread) and then read as a stream, never whole into memory.

    :raise ImportFileError: when the file is empty, too big, not a CSV or has more than
        ``max_rows`` rows.
    """
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    if size > max_bytes:
        raise ImportFileError(_("The file is too big: at most %(size)s can be imported at once. "
                                "Split it into smaller files.", size=_megabytes(max_bytes)))
    if not isinstance(data, Path):
        return _read_rows(io.StringIO(decode(data), newline=""), max_rows)
    with data.open("rb") as raw:
        decode(raw.read(4096))  # refuses a workbook or an image before anything else
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            with data.open(encoding=encoding, newline="") as stream:
                return _read_rows(stream, max_rows)
        except UnicodeDecodeError:  # as ``decode``: UTF-8, else Excel's Windows-1252, else latin-1
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _read_rows(stream: IO[str], max_rows: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    first_line = ""
    while not first_line.strip():
        first_line = stream.readline()
        if not first_line:
            raise ImportFileError(_("The file is empty."))
    stream.seek(0)
    # The header decides: names of columns hardly ever hold a comma or a semicolon.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(stream, delimiter=delimiter)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        line = 1
        for cells in reader:
            # A row of blank cells is skipped: "".join(...).strip() is any(c.strip() ...) without a
            # generator per row.
            if header is None:
                if "".join(cells).strip():
                    header = [c.strip() for c in cells]
            elif "".join(cells).strip():
                if len(rows) == max_rows:
                    raise ImportFileError(_("The file has more than %(count)d rows. Split it into "
                                            "smaller files.", count=max_rows))
                rows.append((line, cells))
            line = reader.line_num + 1  # a quoted cell may span lines: the next row starts here
    except csv.Error as error:
        raise ImportFileError(_("This file cannot be read as CSV (line %(line)d: %(reason)s).",
                                line=reader.line_num, reason=str(error))) from None
    return header or [], rows


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size < 10_000_000 else f"{size // 1_000_000} MB"


@functools.lru_cache(maxsize=4096)
def _value_key(value: str) -> str:
    """A cell as a code or name is compared: accents and case aside, spaces/_/- as one space."""
    return " ".join(re.sub(r"[_\-]+", " ", fold(value)).split())


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block (checking or writing a whole file).

    A 100,000-row file is over a million live objects (its cells, then its rows), and the
    collector went through all of them again and again as the rows were made: a third of the
    check's time. Rows and cells hold no reference cycles; whatever cycle the block leaves is
    collected once the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- checking every row -------------------------------------------------------------------


SAMPLES = 3  # values shown per column on the mapping page


@_collector_paused()
def check_import(user: User, data: bytes | Path, *, region: str, max_bytes: int, max_rows: int,
                 mapping: list[str] | None = None, preset: str | None = None,
                 saved: dict[str, str] | None = None) -> ImportPlan:
    """Read and check a whole file for ``user`` without writing anything.

    The columns are read through ``mapping`` (a field of ``presets.FIELDS`` per column) when
    given; otherwise through ``auto_mapping`` with the ``saved`` mapping, or the named
    ``preset``, or the preset detected from the headers.

    A fixed number of queries whatever the number of rows: the managed lists once, and people
    already in Organizer by external id, phone and email (a query each).

    :raise ImportFileError: when the file itself cannot be imported (see ``read_table``), or
        the mapping has no first name (nor full name), or gives two columns one single field.
    """
    check = _FileCheck(user, data, region=region, max_bytes=max_bytes, max_rows=max_rows, mapping=mapping,
                       preset=preset, saved=saved)
    check.accept(_check_rows(check.table, check.checker))
    plan = check.finish()
    _set_aside_existing(user, plan)
    return plan


class _FileCheck:
    """A file being checked for a user: its plan so far, and what deciding each row in the
    file's order needs (``check_import`` checks all rows at once, ``check_and_import`` a run
    at a time while the rows before are written). Reading the file and its columns happens
    here; ``ImportFileError`` as ``check_import`` says."""

    def __init__(self, user: User, data: bytes | Path, *, region: str, max_bytes: int, max_rows: int,
                 mapping: list[str] | None, preset: str | None, saved: dict[str, str] | None) -> None:
        header, table = read_table(data, max_bytes=max_bytes, max_rows=max_rows)
        plan = ImportPlan(total_rows=len(table), header=header)
        plan.preset = PRESETS.get(preset or "") if preset else (None if saved or mapping else detect_preset(header))
        if plan.preset:
            plan.source = plan.preset.key
        if mapping is None or len(mapping) != len(header):
            mapping = auto_mapping(header, plan.preset, saved)
        plan.mapping = [m if m in FIELDS else IGNORE for m in mapping]
        plan.samples = [[] for _ in header]
        for _line, cells in table:
            if all(len(values) >= SAMPLES for values in plan.samples):
                break
            for i, values in enumerate(plan.samples):
                cell = cells[i].strip() if i < len(cells) else ""
                if cell and len(values) < SAMPLES:
                    values.append(cell[:60])
        columns: dict[str, list[int]] = {}
        for index, (name, target) in enumerate(zip(header, plan.mapping, strict=True)):
            if target == IGNORE:
                if name:
                    plan.ignored_columns.append(name)
            elif target in SENSITIVE and not user.can_see_sensitive:
                plan.notes_ignored = True
            elif target in columns and target not in MULTIPLE:
                raise ImportFileError(_("The columns “%(first)s” and “%(second)s” mean the same thing; keep only "
                                        "one.", first=header[columns[target][0]], second=name))
            else:
                columns.setdefault(target, []).append(index)
        if "first_name" not in columns and "full_name" not in columns:
            raise ImportFileError(_("The first line must name the columns, with at least a first name "
                                    "(“First name” or “Nombre”)."))

        neighborhoods = {_value_key(n.name): n for n in db.session.scalars(select(Neighborhood))}
        tags = {_value_key(t.name): t for t in db.session.scalars(select(Tag))}
        member_regions = get_organization().member_regions
        self.plan, self.table, self.header, self.columns = plan, table, header, columns
        self.new_tags: dict[str, str] = {}
        self.seen_phone: dict[tuple[str, str], int] = {}  # by phone and name: a household shares a phone
        self.seen_email: dict[str, int] = {}
        self.seen_id: dict[str, int] = {}
        # Another tool's export brings its own tags: staff get them created rather than a list
        # of errors to fix by hand. A plain file's unknown tag stays an error (most likely a typo).
        self.collect_tags = self.new_tags if user.is_staff and plan.preset else None
        self.checker = _RowChecker(header, columns, region, neighborhoods, tags, member_regions,
                                   collect=self.collect_tags is not None)

    def accept(self, checked: list[CheckedRow]) -> list[ImportRow]:
        """The file's next checked rows into the plan, in the file's order, as one pass would
        take them: the errors by line, a new tag spelled as the first row naming it spells it,
        repeats within the file. Returns the rows it added to ``plan.rows``."""
        plan, header, columns, collect_tags = self.plan, self.header, self.columns, self.collect_tags
        seen_phone, seen_email, seen_id = self.seen_phone, self.seen_email, self.seen_id
        accepted: list[ImportRow] = []
        for row, found, resolve, tags_seen in checked:
            plan.errors.extend(found)
            plan.to_resolve.extend(resolve)
            for key, name in tags_seen:
                collect_tags.setdefault(key, name)  # type: ignore[union-attr] - seen only when collected
            if row is None:
                continue
            if row.new_tags:
                row.new_tags = list(dict.fromkeys(collect_tags[_value_key(name)] for name in row.new_tags))  # type: ignore[index]
            if row.external_id and row.external_id in seen_id:
                # The same person again (an attendee export lists someone once per shift): one person.
                plan.repeated += 1
                continue
            household = (row.phone, _name_key(row.first_name, row.last_name)) if row.phone else None
            if household and household in seen_phone:
                plan.errors.append(LineError(row.line, header[columns["phone"][0]], _(
                    "Same phone and name as line %(line)d.", line=seen_phone[household])))
                continue
            if row.email and row.email in seen_email:
                plan.errors.append(LineError(row.line, header[columns["email"][0]],
                                             _("Same email as line %(line)d.", line=seen_email[row.email])))
                continue
            if row.external_id:
                seen_id[row.external_id] = row.line
            if household:
                seen_phone[household] = row.line
            if row.email:
                seen_email[row.email] = row.line
            accepted.append(row)
        plan.rows.extend(accepted)
        return accepted

    def finish(self) -> ImportPlan:
        """The plan, once every row is in: its new tags in order."""
        self.plan.new_tags = sorted(self.new_tags.values(), key=_value_key)
        return self.plan


#: Files with at least this many rows are checked by two processes when the machine has two
#: cores: the row checks (phones, names, lists) are most of an import's Python, and each row's
#: are independent of the others'. What depends on earlier rows (repeats in the file, new tags'
#: spelling, people already in Organizer) is still decided here, in the file's order.
PARALLEL_CHECK_ROWS = 20_000

CheckedRow = tuple["ImportRow | None", list[LineError], list["PhoneToResolve"], list[tuple[str, str]]]


class _RowChecker:
    """``_check_row`` for a run of rows with what a file decides once (its columns, the managed
    lists): for each row, the row (or ``None``), its errors, its phone to resolve, and the new
    tags it named first in this run (key, spelling)."""

    def __init__(self, header: list[str], columns: dict[str, list[int]], region: str,
                 neighborhoods: dict[str, Neighborhood], tags: dict[str, Tag], member_regions: list[str], *,
                 collect: bool) -> None:
        self.header, self.columns, self.region = header, columns, region
        self.neighborhoods, self.tags, self.member_regions = neighborhoods, tags, member_regions
        self.collect = collect
        self.layout = _Layout(columns)
        # The ids are read here, in the process that holds the session: a forked checker hands
        # rows back by these ids and must never touch the database (an expired attribute would).
        self.tag_ids = {tag: tag.id for tag in tags.values()}
        self.neighborhood_ids = {n: n.id for n in neighborhoods.values()}

    def __call__(self, table: list[tuple[int, list[str]]]) -> list[CheckedRow]:
        new_tags: dict[str, str] | None = {} if self.collect else None
        checked: list[CheckedRow] = []
        for line, cells in table:
            found: list[LineError] = []
            resolve: list[PhoneToResolve] = []
            known = len(new_tags) if new_tags is not None else 0
            row = _check_row(line, cells, self.header, self.columns, self.region, self.neighborhoods, self.tags,
                             found, new_tags, member_regions=self.member_regions, to_resolve=resolve,
                             layout=self.layout)
            seen = list(new_tags.items())[known:] if new_tags is not None and len(new_tags) > known else []
            checked.append((row, found, resolve, seen))
        return checked

    def portable(self, checked: list[CheckedRow]) -> list[CheckedRow]:
        """``checked`` as it can cross to another process: tags and neighborhoods by id."""
        for row, *_rest in checked:
            if row is not None:
                row.tags = [self.tag_ids[tag] for tag in row.tags]  # type: ignore[misc]
                row.neighborhood = self.neighborhood_ids[row.neighborhood] if row.neighborhood else None  # type: ignore[assignment]
        return checked

    def restored(self, checked: list[CheckedRow]) -> list[CheckedRow]:
        """``portable``'s rows with their tags and neighborhood again."""
        tags = {tag_id: tag for tag, tag_id in self.tag_ids.items()}
        neighborhoods = {n_id: n for n, n_id in self.neighborhood_ids.items()}
        for row, *_rest in checked:
            if row is not None:
                row.tags = [tags[tag_id] for tag_id in row.tags]  # type: ignore[index]
                row.neighborhood = neighborhoods[row.neighborhood] if row.neighborhood else None  # type: ignore[index]
        return checked


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _check_rows(table: list[tuple[int, list[str]]], check: _RowChecker) -> list[CheckedRow]:
    """Every row of ``table`` checked, in order: the second half by a forked process while this
    one checks the first, for a large file on two cores or more (``PARALLEL_CHECK_ROWS``).

    The child only computes (no database, no file): it hands its rows back through a pipe and
    exits. Should it fail, or not answer in a while (a lock another thread of this process held
    at the fork, say), its half is checked here instead: the result is the same, only slower.
    """
    if (len(table) < PARALLEL_CHECK_ROWS or _usable_cores() < 2
            or "fork" not in multiprocessing.get_all_start_methods()
            or multiprocessing.current_process().daemon):  # Huey's process workers may not fork
        return check(table)
    half = len(table) // 2
    second_half = table[half:]
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_check_in_child, args=(check, second_half, sender), daemon=True)
    started = time.monotonic()
    for stream in (sys.stdout, sys.stderr):  # else the child would write what they hold again
        stream.flush()
    try:
        child.start()
    except OSError:  # no process to spare (a limit on processes or memory): one pass, here
        receiver.close()
        sender.close()
        return check(table)
    sender.close()
    try:
        first = check(table[:half])
        waited = max(30.0, 4 * (time.monotonic() - started))
        try:
            second = check.restored(receiver.recv()) if receiver.poll(waited) else None
        except (EOFError, OSError):  # the child died without answering
            second = None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if second is None:
        log.warning("the import's second checker gave no answer; checking its rows here")
        second = check(second_half)
    return first + second


def _check_in_child(check: _RowChecker, table: list[tuple[int, list[str]]], sender: Connection) -> None:
    try:
        sender.send(check.portable(check(table)))
    finally:
        sender.close()


class _Layout:
    """What a file's columns decide once for all its rows (``_check_row`` runs 100,000 times):
    the column of each single-valued field, and the length limits that can apply."""

    def __init__(self, columns: dict[str, list[int]]) -> None:
        self.singles = [(name, indexes[0]) for name, indexes in columns.items() if name not in MULTIPLE]
        present = {name for name, _index in self.singles}
        if "full_address" in present:
            present.add("postal_code")  # a ZIP may come from the end of a one-line address
        self.limits = [(name, limit) for name, limit in MAX_LENGTHS.items() if name == "address" or name in present]


def _check_row(line: int, cells: list[str], header: list[str], columns: dict[str, list[int]], region: str,
               neighborhoods: dict[str, Neighborhood], tags: dict[str, Tag],
               errors: list[LineError], new_tags: dict[str, str] | None, *,
               member_regions: list[str] | None = None,
               to_resolve: list[PhoneToResolve] | None = None, layout: _Layout | None = None) -> ImportRow | None:
    """One row as an ``ImportRow``, or ``None`` after adding its errors to ``errors``.

    ``new_tags``: where tags missing from the list are collected to be created (staff); ``None``
    makes them errors (a leader cannot add to the managed lists). ``layout``: ``_Layout(columns)``,
    made once per file by the caller."""
    cells = [c.strip() for c in cells]
    count = len(cells)

    def cell(i: int) -> str:
        return cells[i] if i < count else ""

    if layout is None:
        layout = _Layout(columns)
    values = {name: cells[i] if i < count else "" for name, i in layout.singles}
    found: list[LineError] = []

    def problem(name: str, message: str, index: int | None = None) -> None:
        found.append(LineError(line, header[columns[name][0] if index is None else index], message))

    first_name, last_name = values.get("first_name", ""), values.get("last_name", "")
    if "full_name" in columns and values["full_name"]:
        # "García, María" (last name first) or "María García" (the last word is the last name).
        full = values["full_name"]
        if "," in full:
            last, _sep, first = full.partition(",")
        else:
            first, _sep, last = full.rpartition(" ") if " " in full.strip() else (full, "", "")
        first_name = first_name or first.strip()
        last_name = last_name or last.strip()
    address = ", ".join(filter(None, (cell(i) for i in columns.get("address", ())))) or None
    # A one-line address ("1749 Kori Ter, Ranbelsi, SC 02569", VAN's "Address"): the address when
    # no street column has one, and the ZIP at its end when the ZIP column is blank.
    full_address = values.get("full_address", "")
    address = address or full_address or None
    zip_at_end = US_ZIP_AT_END.search(full_address)
    if not values.get("postal_code") and zip_at_end:
        values["postal_code"] = zip_at_end.group(1)
    for name, limit in layout.limits:  # the others are blank in every row
        value = address or "" if name == "address" else values.get(name, "")
        if len(value) > limit:
            problem(name, _("Longer than %(max)d characters.", max=limit))
    if len(first_name) > MAX_LENGTHS["first_name"] and "first_name" not in columns:
        problem("full_name", _("Longer than %(max)d characters.", max=MAX_LENGTHS["first_name"]))
    if not first_name:
        problem("first_name" if "first_name" in columns else "full_name", _("A first name is required."))
    phone, readings, phone_problem = _row_phone(_phone_cell(values.get("phone")), region, member_regions or [])
    if phone_problem:
        problem("phone", phone_problem)
    other_phones: list[str] = []
    for i in columns.get("other_phone", ()):
        for raw in filter(None, (p.strip() for p in cell(i).split(TAG_SEPARATOR))):
            try:
                other = normalize_phone(_phone_cell(raw), region)
            except PhoneError:
                problem("other_phone", _("“%(value)s” is not a valid phone number.", value=raw), i)
                continue
            if other and other != phone and other not in other_phones:
                other_phones.append(other)
    if len(TAG_SEPARATOR.join(other_phones)) > OTHER_PHONES_LENGTH:
        problem("other_phone", _("Too many phone numbers."))
    email = values.get("email", "").lower() or None
    if email and not EmailAddress.pattern.match(email):
        problem("email", _("“%(value)s” is not a valid email address.", value=values["email"]))
    neighborhood = None
    if values.get("neighborhood"):
        neighborhood = neighborhoods.get(_value_key(values["neighborhood"]))
        if neighborhood is None:
            problem("neighborhood", _("“%(value)s” is not on the list of neighborhoods. An admin can add it "
                                      "in Settings.", value=values["neighborhood"]))
    language = None
    if values.get("preferred_language"):
        key = _value_key(values["preferred_language"])
        # "es-MX", "en_US": the language's own code is enough.
        language = LANGUAGE_FOR.get(key) or (LANGUAGE_FOR.get(key[:2]) if key[2:3] == " " else None)
        if language is None:
            problem("preferred_language", _("“%(value)s” is not a language Organizer knows (for example: "
                                            "en, es, English, Español).", value=values["preferred_language"]))
    row_tags: list[Tag] = []
    row_new_tags: list[str] = []
    for i in columns.get("tags", ()):
        # Organizer writes "a;b", Action Network and NationBuilder "a, b".
        text = cell(i)
        separator = TAG_SEPARATOR if TAG_SEPARATOR in text or "," not in text else ","
        for name in filter(None, (t.strip() for t in text.split(separator))) if text else ():
            tag = tags.get(_value_key(name))
            if tag is not None:
                if tag not in row_tags:
                    row_tags.append(tag)
            elif new_tags is None:
                problem("tags", _("“%(value)s” is not on the list of tags (separate tags with “;”). An admin can "
                                  "add it in Settings.", value=name), i)
            elif len(name) > TAG_NAME_LENGTH:
                problem("tags", _("Longer than %(max)d characters.", max=TAG_NAME_LENGTH), i)
            else:
                name = new_tags.setdefault(_value_key(name), name)
                if name not in row_new_tags:
                    row_new_tags.append(name)
    consent = None
    if values.get("sms_consent"):
        consent = CONSENT_FOR.get(_value_key(values["sms_consent"]))
        if consent is None:
            problem("sms_consent", _("“%(value)s” is not a yes or no.", value=values["sms_consent"]))
    if "sms_opt_out" in values:
        key = _value_key(values["sms_opt_out"])
        if key in OPT_OUT_YES:
            consent = SmsConsent.OPTED_OUT  # a "do not text" flag wins over any other column
        elif key not in OPT_OUT_NO:
            problem("sms_opt_out", _("“%(value)s” is not a yes or no.", value=values["sms_opt_out"]))
    races: list[RaceEthnicity] = []
    race_cell = values.get("race_ethnicity")
    for name in filter(None, (r.strip() for r in race_cell.split(TAG_SEPARATOR))) if race_cell else ():
        race = RACE_FOR.get(_value_key(name))
        if race is None:
            problem("race_ethnicity", _("“%(value)s” is not a race/ethnicity Organizer knows.", value=name))
        elif race not in races:
            races.append(race)
    if found:
        errors.extend(found)
        return None
    if readings and to_resolve is not None:
        to_resolve.append(PhoneToResolve(line, f"{first_name} {last_name}".strip(),
                                         values.get("phone", ""), readings))
    return ImportRow(
        line=line,
        first_name=first_name,
        last_name=last_name,
        preferred_name=values.get("preferred_name") or None,
        phone=phone,
        other_phones=other_phones,
        email=email,
        address=address,
        city=values.get("city") or None,
        postal_code=values.get("postal_code") or None,
        neighborhood=neighborhood,
        preferred_language=language,
        tags=row_tags,
        new_tags=row_new_tags,
        sms_consent=consent if consent is not SmsConsent.UNKNOWN else None,
        race_ethnicities=[RaceEthnicity.PREFER_NOT_TO_SAY] if RaceEthnicity.PREFER_NOT_TO_SAY in races else races,
        notes=values.get("notes") or None,
        external_id=values.get("external_id") or None,
    )


def _row_phone(raw: str | None, region: str,
               member_regions: list[str]) -> tuple[str | None, tuple[Candidate, ...], str | None]:
    """A cell's phone read as the forms read it: (the number, the readings to resolve, the
    error). A number valid in several of the organization's countries is not guessed: no
    number, its readings listed. One valid only in a single member country (not at home) is
    taken: the import has nobody to ask, and no other reading is possible among the
    organization's countries."""
    reading = interpret_phone(raw, region, member_regions)
    if reading.ok:
        return reading.e164, (), None
    if reading.needs_choice and len(reading.candidates) == 1:
        return reading.candidates[0].e164, (), None
    if reading.needs_choice:
        return None, reading.candidates, None
    return None, (), _("“%(value)s” is not a valid phone number.", value=reading.raw) + " " + reading.advice


def _name_key(first: str | None, last: str | None) -> str:
    """Who a row names, as matching compares it (accents, case and spacing aside)."""
    return " ".join(fold(f"{first or ''} {last or ''}").split())


def _phone_cell(value: str | None) -> str | None:
    """A phone cell as a spreadsheet may have kept it: "'+52 55..." (the apostrophe that makes
    it text) or "5255...0.0" is read as the number it stands for."""
    if not value:
        return value
    value = value.lstrip("'")
    if value.endswith(".0") and value[:-2].isdigit():
        value = value[:-2]
    return value


def _keep_first(found: dict[str, tuple[int, str, bool]], key: str, person_id: int, name: str,
                may_see: object) -> None:
    """Remember the person with the smallest id (the oldest record) under ``key``."""
    if key not in found or person_id < found[key][0]:
        found[key] = (person_id, name, bool(may_see))


def _set_aside_existing(user: User, plan: ImportPlan) -> None:
    """Move rows that are people already in Organizer (archived too) out of ``plan.rows``: to
    ``plan.existing`` when the user may see them, else counted (``_match_existing``)."""
    plan.rows, existing, hidden = _match_existing(people_visible_to(user), plan.source, plan.rows)
    plan.existing.extend(existing)
    plan.hidden_matches += hidden


def _match_existing(visible: ColumnElement[bool], source: str, rows: list[ImportRow], *,
                    execute: Callable[[Select], Iterable] | None = None,
                    ) -> tuple[list[ImportRow], list[ExistingMatch], int]:
    """``rows`` split into those to add, those matching people already in Organizer whom the
    ``visible`` condition lets the user see (in the rows' order), and how many match people the
    user may not see. The same id in the other tool (kept under ``source``), the same email, or
    the same phone and name; the same phone with another name is a household member, added.
    ``execute``: what runs the queries (the session's ``execute`` unless given)."""
    execute = execute or db.session.execute
    ids = list({r.external_id for r in rows if r.external_id})
    phones = list({r.phone for r in rows if r.phone})
    emails = list({r.email for r in rows if r.email})
    by_id: dict[str, tuple[int, str, bool]] = {}
    by_phone: dict[str, tuple[int, str, bool]] = {}  # by phone and name key (see below)
    by_email: dict[str, tuple[int, str, bool]] = {}
    names = (Person.first_name, Person.last_name, Person.preferred_name, visible.label("visible"))
    # One query per kind, the values bound as one parameter (``in_values``): SQLite reads the
    # table once against them (0.1 s), where chunks of 500 each scanned it whenever its
    # statistics said the column's index narrowed nothing (people without emails: 3 s).
    found = execute(
        select(Person.id, PersonExternalId.external_id, *names)
        .join(PersonExternalId, PersonExternalId.person_id == Person.id)
        .where(PersonExternalId.source == source, in_values(PersonExternalId.external_id, ids))
    ) if ids else ()
    for pid, value, first, last, preferred, may_see in found:
        _keep_first(by_id, value, pid, display_name(first, preferred, last), may_see)
    # Phones and emails in separate queries, each free to walk its own index (an OR of the two
    # lists made SQLite scan the whole table instead).
    for column, values, by_value in ((Person.phone, phones, by_phone), (Person.email, emails, by_email)):
        found = execute(
            select(Person.id, column, *names).where(in_values(column, values))) if values else ()
        for pid, value, first, last, preferred, may_see in found:
            key = f"{value} {_name_key(first, last)}" if column is Person.phone else value
            _keep_first(by_value, key, pid, display_name(first, preferred, last), may_see)
    if not by_id and not by_phone and not by_email:
        return rows, [], 0
    to_add, existing, hidden = [], [], 0
    for row in rows:
        match = (by_id.get(row.external_id or "") or by_email.get(row.email or "")
                 or (by_phone.get(f"{row.phone} {_name_key(row.first_name, row.last_name)}") if row.phone else None))
        if match is None:
            to_add.append(row)
        elif match[2]:
            existing.append(ExistingMatch(row.line, match[0], match[1], row))
        else:
            hidden += 1
    return to_add, existing, hidden


# --- writing ------------------------------------------------------------------------------


@_collector_paused()
def import_people(user: User, plan: ImportPlan, *, owner: User | None, file_name: str,
                  progress: Callable[[int], None] | None = None) -> int:
    """Add the plan's rows as people (the caller commits); returns how many were added.

    Each person is created by ``user`` and held by ``owner`` (a leader's import is always the
    leader's own, whatever ``owner`` says); notes and race/ethnicity only when ``user`` may see
    them. Tags missing from the list are created first (staff only reach this with new tags).
    People already in Organizer (``plan.existing``) get what they lack and any opt-out
    (``_update_existing``). One audit event for the whole import.

    Written with the driver's executemany (``db.insert_rows``: people, then their tags, consent
    history, race/ethnicity and ids in other tools) in chunks of ``INSERT_CHUNK`` rows, the new
    people's ids reserved first (``db.reserve_ids``), not the ORM: on SQLite the ORM sends one
    INSERT per person to learn each new id. ``progress(added)``, when given, is called after each
    chunk.

    :raise ValueError: when the plan has errors (check ``plan.ok`` first).
    """
    if not plan.ok:
        raise ValueError("an import with errors cannot be written")
    writing = _Writing(user, plan, owner=owner, file_name=file_name)
    updated = _update_existing(user, plan, detail=writing.detail, now=writing.now)
    if not plan.rows and not updated:
        return 0
    writing.create_tags(plan.new_tags)
    added = 0
    # One bump of the reports' data version for the whole file, not one per row, and the new
    # people added to the search index in one statement (SQLite).
    with bulk_inserts(writing.connection, ("people", "person_race_ethnicities")), \
            search_index.bulk_people(writing.connection):
        for start in range(0, len(plan.rows), INSERT_CHUNK):
            added += len(writing.write(plan.rows[start:start + INSERT_CHUNK]))
            if progress is not None:
                progress(added)
    writing.record(added, updated)
    return added


class _Writing:
    """What writing a plan's people needs, decided once per import, and the writing itself.

    Rows are written with the driver's executemany (``db.insert_rows``; PostgreSQL: COPY),
    their ids reserved first (``db.reserve_ids``): SQLAlchemy's per-row parameter handling (and
    RETURNING to learn each new id) was most of a 100,000-row import. Every column is named, so
    no Python default is needed."""

    COLUMNS = ("id", "first_name", "last_name", "preferred_name", "phone", "email", "address", "city",
               "postal_code", "other_phones", "neighborhood_id", "preferred_language", "notes", "sms_consent",
               "sms_consent_at", "sms_consent_source", "owner_id", "created_by_id", "created_at", "updated_at",
               "updated_by_id", "archived_at", "source", "search_key", "name_key")

    def __init__(self, user: User, plan: ImportPlan, *, owner: User | None, file_name: str) -> None:
        self.user, self.plan, self.file_name = user, plan, file_name
        self.detail = f"imported by {user.email} from {file_name}"[:80]
        self.now = utcnow()
        self.user_id = user.id
        self.owner_id = user.id if user.is_leader else (owner.id if owner else None)
        self.sensitive = user.can_see_sensitive
        self.staff = user.is_staff
        self.created_tags: dict[str, Tag] = {}
        self.connection = db.session.connection()

    def create_tags(self, names: list[str]) -> None:
        """The tags missing from the list that the rows name (staff only)."""
        for name in names if self.staff else ():
            tag = Tag(name=name)
            db.session.add(tag)
            self.created_tags[name] = tag
        if self.created_tags:
            db.session.flush()

    def write(self, rows: list[ImportRow]) -> list[tuple[int, ImportRow]]:
        """``rows`` added as people with their tags (those created already), consent history,
        race/ethnicity and ids in other tools; returns each new id with its row."""
        connection, user_id, now, detail = self.connection, self.user_id, self.now, self.detail
        sensitive, created_tags = self.sensitive, self.created_tags
        pairs = list(zip(reserve_ids(connection, Person.__table__, len(rows)), rows, strict=True))
        insert_rows(connection, Person.__table__, self.COLUMNS, (
            (pid, row.first_name, row.last_name, row.preferred_name, row.phone, row.email, row.address, row.city,
             row.postal_code, TAG_SEPARATOR.join(row.other_phones) or None,
             row.neighborhood.id if row.neighborhood else None, row.preferred_language,
             row.notes if sensitive else None, row.sms_consent or SmsConsent.UNKNOWN,
             now if row.sms_consent else None, detail if row.sms_consent else None,
             self.owner_id, user_id, now, now, None, None, PersonSource.IMPORT,
             row.search_key, row.name_key)
            for pid, row in pairs
        ))
        record_imported_consents([(pid, row.sms_consent) for pid, row in pairs if row.sms_consent], self.user,
                                 detail=detail, now=now)
        insert_rows(connection, person_tags, ("person_id", "tag_id"), [
            (pid, tag.id) for pid, row in pairs
            for tag in [*row.tags, *(created_tags[n] for n in row.new_tags if n in created_tags)]])
        if sensitive:
            insert_rows(connection, PersonRaceEthnicity.__table__, ("person_id", "value"),
                        [(pid, race) for pid, row in pairs for race in row.race_ethnicities])
        insert_rows(connection, PersonExternalId.__table__, ("person_id", "source", "external_id"),
                    [(pid, self.plan.source, row.external_id) for pid, row in pairs if row.external_id])
        return pairs

    def record(self, added: int, updated: int) -> None:
        """The import's one audit event."""
        plan = self.plan
        record(self.user, "import", None,
               {"file": self.file_name, "added": added, "already_there": plan.skipped, "rows": plan.total_rows,
                "owner_id": self.owner_id, "updated": updated, "preset": plan.source,
                "tags_created": sorted(self.created_tags)},
               object_type="people", summary=f"{added} people imported from {self.file_name}"[:255])


# --- checking while writing (PostgreSQL) --------------------------------------------------

#: Rows checked at a time by ``check_and_import`` before they are handed to the writing thread.
STREAM_CHUNK = 5_000


@_collector_paused()
@contextlib.contextmanager
def _lookups_connection() -> Iterator[DatabaseConnection]:
    """A second connection for looking up the people already on file while the import writes.

    PostgreSQL: without bitmap scans, so the phone lookup walks the phone's btree and never
    the trigram index (a GIN index answers ``=`` too, through bitmap scans only). On a table
    without statistics yet (a new federation's first import) the planner took the trigram
    index, and each probe then read every entry the import had written and not yet committed
    (GIN's pending list): 67 to 80 s per lookup of 5,000 phones at 100,000 rows. The setting
    is the transaction's (``SET LOCAL``), gone when the connection goes back to the pool.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        yield connection


def check_and_import(user: User, data: bytes | Path, *, region: str, max_bytes: int, max_rows: int,
                     owner: User | None, file_name: str, mapping: list[str] | None = None,
                     preset: str | None = None, saved: dict[str, str] | None = None,
                     progress: Callable[[int, int], None] | None = None) -> tuple[ImportPlan, int]:
    """``check_import`` then, when the plan has no error, ``import_people``: the plan and how
    many people were added (the caller commits, or rolls back when the plan has errors). Still
    all or nothing: a plan with errors leaves nothing of this import in the transaction, and
    lists every bad row by line, as ``check_import`` does. ``progress(done, total)``, when
    given, is called as the rows are written: the file's rows handled (PostgreSQL), or the
    people added of those to add (once checked, elsewhere).

    On PostgreSQL the rows are written while the rest of the file is still being checked: the
    server's work (its indexes, foreign keys and trigram lists: most of a large import) runs
    beside the check instead of after it. A thread writes each run of ``STREAM_CHUNK`` checked
    rows on the session's connection while this one checks the next run and sets aside people
    already in Organizer (as ``check_import`` does, a run at a time, on a second connection);
    nothing else uses the session meanwhile. Everything is written under a savepoint: at the
    first bad row the writing stops, the rest of the file is checked as ``check_import``
    checks it (by two processes for a large rest) and the savepoint is rolled back. New tags
    are created, and given to their rows, once the whole file is known good (the first row
    naming a tag spells it). Other databases (SQLite: one writer, in this process) check,
    then write.

    :raise ImportFileError: as ``check_import``.
    """
    if db.session.connection().dialect.name != "postgresql":
        plan = check_import(user, data, region=region, max_bytes=max_bytes, max_rows=max_rows, mapping=mapping,
                            preset=preset, saved=saved)
        if not plan.ok:
            return plan, 0
        total = len(plan.rows)
        added = import_people(user, plan, owner=owner, file_name=file_name,
                              progress=(lambda done: progress(done, total)) if progress else None)
        return plan, added
    check = _FileCheck(user, data, region=region, max_bytes=max_bytes, max_rows=max_rows, mapping=mapping,
                       preset=preset, saved=saved)
    plan, table = check.plan, check.table
    writing = _Writing(user, plan, owner=owner, file_name=file_name)
    writer = _StreamWriter(writing, plan.total_rows, progress)
    visible = people_visible_to(user)
    connection = writing.connection
    connection.exec_driver_sql("SAVEPOINT people_import")
    try:
        # The trigram lists merged once at the end (``bulk_people``), only when the rows stay.
        with search_index.bulk_people(connection):
            checked = 0
            # People already in Organizer are looked for on a second connection, by this
            # thread, so that the writing one only writes: it sees what was committed, as the
            # import's own transaction did before it wrote anything (this file's new people,
            # not committed, are never taken for people already here).
            with _lookups_connection() as lookups, writer:
                while checked < len(table) and not plan.errors and writer.error is None:
                    rows = check.accept(check.checker(table[checked:checked + STREAM_CHUNK]))
                    checked = min(checked + STREAM_CHUNK, len(table))
                    if plan.errors:
                        writer.stop()  # the runs still waiting would be rolled back: not written
                    else:
                        writer.put(*_match_existing(visible, plan.source, rows, execute=lookups.execute), checked)
            if writer.error is not None:
                raise writer.error
            if plan.errors:
                # Every bad row is still listed: the rest checked as check_import would, once
                # the writing thread has ended (``_check_rows`` may fork).
                check.accept(_check_rows(table[checked:], check.checker))
                raise _RowsRefused
            existing, hidden, to_add, new_tag_rows = writer.existing, writer.hidden, writer.to_add, writer.new_tags
            check.finish()
            # The rows of this file that name a tag created now: written once it exists.
            writing.create_tags(plan.new_tags)
            insert_rows(connection, person_tags, ("person_id", "tag_id"), [
                (pid, writing.created_tags[name].id) for pid, name in new_tag_rows if name in writing.created_tags])
    except _RowsRefused:
        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT people_import")
        connection.exec_driver_sql("RELEASE SAVEPOINT people_import")
        if writer.to_add:
            # The rolled-back rows' entries stay in the trigram lists until merged (and then
            # vacuumed): merged here, not in the next person's insert (somebody's page).
            search_index.merge_pending_lists(connection)
        check.finish()
        _set_aside_existing(user, plan)  # the matches listed as check_import lists them
        return plan, 0
    except BaseException:
        with contextlib.suppress(Exception):  # the connection may be gone: the caller rolls back
            connection.exec_driver_sql("ROLLBACK TO SAVEPOINT people_import")
        raise
    connection.exec_driver_sql("RELEASE SAVEPOINT people_import")
    plan.rows, plan.existing, plan.hidden_matches = to_add, existing, hidden
    added = len(to_add)
    updated = _update_existing(user, plan, detail=writing.detail, now=writing.now)
    if added or updated:
        writing.record(added, updated)
    return plan, added


class _RowsRefused(Exception):
    """A row of the file has an error: nothing of the import is kept."""


class _StreamWriter:
    """The thread of ``check_and_import`` that writes runs of checked rows (``put``) in order.

    It runs in a copy of the caller's context (the same app context, so the same session and
    connection, which the caller leaves alone until the thread has ended: ``with writer``
    ends it). A failure is kept in ``error`` (for the caller to raise) and stops the writing,
    as ``stop`` and an exception leaving the ``with`` block do: the runs still waiting are
    dropped."""

    def __init__(self, writing: _Writing, total: int, progress: Callable[[int, int], None] | None) -> None:
        self.writing, self.total, self.progress = writing, total, progress
        self.runs: queue.SimpleQueue[tuple[list[ImportRow], list[ExistingMatch], int, int] | None] = \
            queue.SimpleQueue()
        self.error: BaseException | None = None
        self.stopped = False
        self.to_add: list[ImportRow] = []
        self.existing: list[ExistingMatch] = []
        self.hidden = 0
        self.new_tags: list[tuple[int, str]] = []  # (person id, name) of tags created at the end
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,),
                                       name="people-import-writer", daemon=True)

    def __enter__(self) -> _StreamWriter:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is not None:
            self.stop()
        self.runs.put(None)
        self.thread.join()

    def stop(self) -> None:
        """Write no more runs (the one being written is finished)."""
        self.stopped = True

    def put(self, to_add: list[ImportRow], existing: list[ExistingMatch], hidden: int, checked: int) -> None:
        """The next run of the file (``_match_existing``'s answer for it), and how many of the
        file's rows are checked with it."""
        self.runs.put((to_add, existing, hidden, checked))

    def _run(self) -> None:
        while (run := self.runs.get()) is not None:
            if self.error is not None or self.stopped:
                continue  # the rest is dropped: the caller raises the error, or rolls back
            to_add, existing, hidden, checked = run
            try:
                self.existing.extend(existing)
                self.hidden += hidden
                for pid, row in self.writing.write(to_add) if to_add else ():
                    self.new_tags.extend((pid, name) for name in row.new_tags)
                self.to_add.extend(to_add)
                if self.progress is not None:
                    self.progress(checked, self.total)
            except BaseException as error:  # noqa: BLE001 - handed to the caller, who raises it
                self.error = error


def _update_existing(user: User, plan: ImportPlan, *, detail: str, now) -> int:
    """Bring the file's news to people already in Organizer that the user may see; returns how
    many changed. Only blanks are filled (city, ZIP, other phones) and the id in the other tool
    noted, so nothing a user typed is overwritten; a declined-texts row opts the person out,
    recorded in their consent history with the file as the source. Nothing here ever makes
    anybody textable. A few bulk statements, whatever the number of rows."""
    matches = [m for m in plan.existing if m.row is not None and (
        m.row.city or m.row.postal_code or m.row.other_phones or m.row.external_id
        or m.row.sms_consent is SmsConsent.OPTED_OUT)]
    if not matches:  # nothing the file could bring them: no query at all
        return 0
    ids = sorted({m.person_id for m in matches})
    current: dict[int, tuple] = {}
    known_ids: set[int] = set()
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start:start + LOOKUP_CHUNK]
        for pid, consent, city, postal_code, other in db.session.execute(
                select(Person.id, Person.sms_consent, Person.city, Person.postal_code, Person.other_phones)
                .where(Person.id.in_(chunk))):
            current[pid] = (consent, city, postal_code, other)
        known_ids.update(db.session.scalars(select(PersonExternalId.person_id).where(
            PersonExternalId.person_id.in_(chunk), PersonExternalId.source == plan.source)))
    table = Person.__table__
    fills, opt_outs, new_ids, opted = [], [], [], set()
    for match in matches:
        row, pid = match.row, match.person_id
        consent, city, postal_code, other = current[pid]
        values = {"city": city or row.city, "postal_code": postal_code or row.postal_code,
                  "other_phones": other or TAG_SEPARATOR.join(row.other_phones) or None}
        if values != {"city": city, "postal_code": postal_code, "other_phones": other}:
            fills.append({"pid": pid, **{f"new_{k}": v for k, v in values.items()}})
            current[pid] = (consent, values["city"], values["postal_code"], values["other_phones"])
        if row.sms_consent is SmsConsent.OPTED_OUT and consent is not SmsConsent.OPTED_OUT and pid not in opted:
            opted.add(pid)
            opt_outs.append((pid, consent))
        if row.external_id and pid not in known_ids:
            known_ids.add(pid)
            new_ids.append({"person_id": pid, "source": plan.source, "external_id": row.external_id})
    if fills:
        db.session.execute(
            update(table).where(table.c.id == bindparam("pid"))
            .values(city=bindparam("new_city"), postal_code=bindparam("new_postal_code"),
                    other_phones=bindparam("new_other_phones"), updated_at=now, updated_by_id=user.id),
            fills, execution_options={"synchronize_session": False})
    if opt_outs:
        out_ids = [pid for pid, _before in opt_outs]
        for start in range(0, len(out_ids), LOOKUP_CHUNK):
            db.session.execute(
                update(table).where(table.c.id.in_(out_ids[start:start + LOOKUP_CHUNK]))
                .values(sms_consent=SmsConsent.OPTED_OUT, sms_consent_at=now, sms_consent_source=detail[:80],
                        updated_at=now, updated_by_id=user.id),
                execution_options={"synchronize_session": False})
        db.session.execute(insert(ConsentChange.__table__), [
            {"person_id": pid, "changed_at": now, "changed_by_id": user.id, "method": ConsentMethod.IMPORT,
             "from_consent": before, "to_consent": SmsConsent.OPTED_OUT, "detail": detail[:120]}
            for pid, before in opt_outs])
    if new_ids:
        db.session.execute(insert(PersonExternalId.__table__), new_ids)
    return len({f["pid"] for f in fills} | {pid for pid, _before in opt_outs} | {r["person_id"] for r in new_ids})


# --- the file between preview and confirmation --------------------------------------------

UPLOAD_MAX_AGE = 3600  # seconds an uploaded file waits for its confirmation


def save_upload(folder: Path, data: bytes) -> str:
    """Keep ``data`` under a new random token (and drop uploads nobody confirmed in time)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.csv"), *folder.glob("*.progress.json")]:
        if old.stat().st_mtime < time.time() - UPLOAD_MAX_AGE:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.csv").write_bytes(data)
    return token


def take_upload(folder: Path, token: str) -> bytes | None:
    """The bytes saved under ``token``, removed from the folder so that they are imported at most
    once (two clicks on "Import": the second finds nothing); ``None`` when unknown or expired."""
    if not TOKEN_PATTERN.match(token or ""):
        return None
    path = folder / f"{token}.csv"
    taken = folder / f"{token}.{secrets.token_hex(8)}.taken"
    try:
        path.rename(taken)  # atomic: only one request gets the file
    except FileNotFoundError:
        return None
    try:
        if taken.stat().st_mtime < time.time() - UPLOAD_MAX_AGE:
            return None
        return taken.read_bytes()
    finally:
        taken.unlink(missing_ok=True)


def peek_upload(folder: Path, token: str) -> bytes | None:
    """The bytes saved under ``token``, left in place (the mapping page reads the file again
    each time a column changes); ``None`` when unknown or expired."""
    if not TOKEN_PATTERN.match(token or ""):
        return None
    path = folder / f"{token}.csv"
    try:
        if path.stat().st_mtime < time.time() - UPLOAD_MAX_AGE:
            return None
        return path.read_bytes()
    except FileNotFoundError:
        return None


def discard_upload(folder: Path, token: str) -> None:
    """Delete the file saved under ``token`` (after the import, or when a new file replaces it)."""
    if TOKEN_PATTERN.match(token or ""):
        (folder / f"{token}.csv").unlink(missing_ok=True)


# --- large files: checked and imported in the worker --------------------------------------


def write_progress(folder: Path, token: str, **state: object) -> None:
    """Replace the progress of the import under ``token`` (atomically: a reader never sees half)."""
    path = folder / f"{token}.progress.json"
    partial = folder / f"{token}.progress.{secrets.token_hex(4)}.tmp"
    partial.write_text(json.dumps(state))
    partial.replace(path)


def read_progress(folder: Path, token: str) -> dict | None:
    """The progress of the import under ``token``, or ``None`` for an unknown token."""
    if not TOKEN_PATTERN.match(token or ""):
        return None
    try:
        return json.loads((folder / f"{token}.progress.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def run_background_import(folder: Path, token: str, *, user_id: int, owner_id: int | None, file_name: str,
                          region: str, max_bytes: int, max_rows: int, errors_kept: int) -> None:
    """Check and import the upload under ``token`` in one transaction (``check_and_import``),
    recording the progress for the page: "checking", "importing" (``done`` of ``total``), then
    "done" (``added``, ``skipped``) or "failed" (the first ``errors_kept`` errors by line and how
    many there are; nothing written). Commits once; raises nothing.
    """
    base = {"user_id": user_id, "file": file_name}
    data = take_upload(folder, token)
    user = db.session.get(User, user_id)
    owner = db.session.get(User, owner_id) if owner_id else None
    if data is None or user is None or not user.active or (owner_id and (owner is None or not owner.active)):
        write_progress(folder, token, **base, state="failed", reason="expired", errors=[], error_count=0)
        return
    write_progress(folder, token, **base, state="checking")

    def progress(done: int, total: int) -> None:
        write_progress(folder, token, **base, state="importing", done=done, total=total)

    try:
        with force_locale(user.locale or "en"):  # the errors by line, in the user's language
            # Written while it is checked on PostgreSQL; nothing kept unless every row is good.
            plan, added = check_and_import(user, data, region=region, max_bytes=max_bytes, max_rows=max_rows,
                                           owner=owner, file_name=file_name, progress=progress)
        if plan.ok:
            db.session.commit()
    except ImportFileError as error:
        write_progress(folder, token, **base, state="failed", reason="file", message=str(error), errors=[],
                       error_count=0)
        return
    except Exception:  # all or nothing: say so, and keep the reason in the worker's log
        db.session.rollback()
        log.exception("people import %s failed", token)
        write_progress(folder, token, **base, state="failed", reason="error", errors=[], error_count=0)
        return
    if not plan.ok:
        db.session.rollback()
        write_progress(folder, token, **base, state="failed", reason="rows", error_count=len(plan.errors),
                       errors=[[e.line, e.column, e.message] for e in plan.errors[:errors_kept]])
        return
    total = len(plan.rows)
    write_progress(folder, token, **base, state="done", added=added, skipped=plan.skipped, total=total)
