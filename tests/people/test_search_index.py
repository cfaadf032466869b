"""People search through its trigram index (``organizer/people/search_index.py``): the same
people, in the same order, as reading every row with ``LIKE``; kept in step with every write to
``people``; used by the query planner; a fixed number of queries whatever the number of matches."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text, update

from organizer.extensions import db
from organizer.people.models import Person, fold
from organizer.people.search_index import IndexedCount, like_condition
from organizer.people.services import PersonFilters, everyone_total, search_people, visible_people

FIRST = ["María", "Maria", "José", "Jose", "Omar", "Linh", "Zoë", "Ana", "Mariana", "Núñez", "O'Brien", "Ñoño",
         "100%", "a_b", 'Say "Hi"', "Łukasz", "Straße"]
LAST = ["García", "Garcia", "Nuñez", "López", "Tran", "Ali", "Marín", "de la Cruz", "Mar", "Pérez-Ortiz"]


def _people(rng: random.Random, count: int, owner_ids: list[int]) -> list[dict]:
    rows = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append({
            "first_name": first, "last_name": f"{last}{i % 7 or ''}",
            "preferred_name": rng.choice([None, None, "Lupe", "Mari", "Pepe"]),
            "email": rng.choice([None, f"{fold(first)[:3]}{i}@example.org".replace(" ", "")]),
            "phone": rng.choice([None, f"+1312555{i:04d}", f"+1773{i:07d}"]),
            "owner_id": rng.choice(owner_ids),
            "archived_at": rng.choice([None] * 9 + [datetime(2026, 1, 1, tzinfo=UTC)]),
        })
    return rows


QUERIES = ["maria", "MARÍA", "mar", "ar", "a", "garcia maria", "maria garc", "ia", "nunez", "ÑOÑO", "omar ali",
           "lupe", "pepe marin", "example", "@example.org", "mar3", "312", "555 0", "(773) 000", "+1 312",
           "ma 12", "100%", "a_b", "%", "_", 'say "hi"', '"', "łuk", "strasse", "straße", "de la", "cruz de",
           "o'b", "zoe", "zz", "zzzz", "1234567890", "ri-ta", "pérez-ort", "a1@", "ar ar ar", "x|y", " | "]


def _reference(user, q: str, *, archived: bool = False, reverse: bool = False) -> list[int]:
    """The ids the search must give: every row read and compared with LIKE, in list order."""
    stmt = visible_people(user, include_archived=archived)
    if archived:
        stmt = stmt.where(Person.archived_at.is_not(None))
    words, digits = fold(q.strip()).split(), "".join(ch for ch in q if ch.isdigit())
    order = (Person.last_name, Person.first_name, Person.id)
    stmt = stmt.where(like_condition(words, digits)).order_by(*(c.desc() for c in order) if reverse else order)
    return list(db.session.scalars(stmt.with_only_columns(Person.id)))


def _in_python(q: str) -> set[int]:
    """The same, decided in Python from the rows, so the reference itself is checked too."""
    words, digits = fold(q.strip()).split(), "".join(ch for ch in q if ch.isdigit())
    found = set()
    for person in db.session.scalars(visible_people_all()):
        if all(word in person.search_key for word in words) or (len(digits) >= 3 and digits in (person.phone or "")):
            found.add(person.id)
    return found


def visible_people_all():
    return select(Person).where(Person.archived_at.is_(None))


@pytest.fixture
def generated(app, make_user):
    organizer, leader = make_user("organizer"), make_user("leader")
    with app.app_context():
        db.session.execute(insert(Person), _people(random.Random(11), 400, [leader.id, None]))  # noqa: S311 - test data
        db.session.commit()
    return organizer, leader


def test_search_finds_the_same_people_in_the_same_order_as_reading_every_row(app, generated):
    organizer, leader = generated
    with app.app_context():
        for user in (db.session.merge(organizer), db.session.merge(leader)):
            for q in QUERIES:
                found = list(db.session.scalars(search_people(user, PersonFilters(q=q)).with_only_columns(Person.id)))
                assert found == _reference(user, q), q
                archived = search_people(user, PersonFilters(q=q, archived=True)).with_only_columns(Person.id)
                assert list(db.session.scalars(archived)) == _reference(user, q, archived=True), q
        staff = db.session.merge(organizer)
        for q in QUERIES:
            assert set(_reference(staff, q)) == _in_python(q), q
            # Many matches (as the people list says when it knows): read along the name index,
            # each row's id looked up among the matches, or (more than were counted, and a page
            # near the start) each row compared with the search.
            for sort, reverse in (("name", False), ("-name", True)):
                for matches, first_rows in ((IndexedCount(10**6), 50), (IndexedCount(1000, more=True), 50)):
                    probed = search_people(staff, PersonFilters(q=q, sort=sort), matches=matches,
                                           first_rows=first_rows)
                    assert list(db.session.scalars(probed.with_only_columns(Person.id))) == _reference(
                        staff, q, reverse=reverse), (q, sort, matches)
        assert len(_reference(staff, "maria")) > 20 and _reference(staff, "zzzz") == []


def test_the_people_list_counts_matches_as_the_query_does(app, generated):
    organizer, _leader = generated
    with app.app_context():
        staff = db.session.merge(organizer)
        for q in QUERIES:
            known = everyone_total(staff, PersonFilters(q=q))
            if known is not None:
                assert not known.more and known.count == len(_reference(staff, q)), q


def _integrity_checked() -> None:
    """SQLite: FTS5 compares its index with the rows of ``people`` and raises if they differ."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("INSERT INTO people_search (people_search, rank) VALUES ('integrity-check', 1)"))


def _found(user, q: str) -> list[int]:
    return list(db.session.scalars(search_people(user, PersonFilters(q=q)).with_only_columns(Person.id)))


def test_every_way_of_writing_people_keeps_the_index_in_step(app, make_user, make_person, login_as):
    from organizer.people.merging import merge_people
    from organizer.people.services import PersonData, archive_person, update_person

    admin = make_user("admin")
    first = make_person(first_name="Quentin", last_name="Zyxwv", phone="+13125550101")
    second = make_person(first_name="Quentina", last_name="Zyxwv", email="qz@example.org")
    with app.app_context():
        actor = db.session.merge(admin)
        _integrity_checked()
        assert _found(actor, "zyxwv") == [first.id, second.id]
        # the edit form's service: a new name, a new phone
        person = db.session.get(Person, first.id)
        update_person(person, PersonData(first_name="Quentin", last_name="Abcdef", phone="+13125550199",
                                         email=None), actor, region="US")
        db.session.commit()
        _integrity_checked()
        assert _found(actor, "zyxwv") == [second.id]
        assert _found(actor, "abcdef") == [first.id] and _found(actor, "555 0199") == [first.id]
        assert _found(actor, "5550101") == []
        # Core bulk inserts (the import, benchmarks) and raw SQL
        db.session.execute(insert(Person), [{"first_name": "Bulk", "last_name": "Qwerty"}])
        db.session.execute(update(Person).where(Person.id == second.id).values(
            search_key="quentina zyxwv renamed", phone="+17735550123"))
        db.session.commit()
        _integrity_checked()
        assert len(_found(actor, "qwerty")) == 1 and _found(actor, "renamed") == [second.id]
        assert _found(actor, "7735550123") == [second.id]
        # merging deletes one of the two; archiving hides a person from the list
        merge_people(db.session.get(Person, first.id), db.session.get(Person, second.id), {}, actor)
        db.session.commit()
        _integrity_checked()
        assert _found(actor, "renamed") == [] and _found(actor, "abcdef") == [first.id]
        archive_person(db.session.get(Person, first.id), actor)
        db.session.commit()
        _integrity_checked()
        assert _found(actor, "abcdef") == []
        counted = everyone_total(actor, PersonFilters(q="abcdef"))
        assert counted is None or counted.count == 0
        db.session.execute(text("DELETE FROM people"))
        db.session.commit()
        _integrity_checked()
        assert _found(actor, "qwerty") == []


def _import(actor, lines: list[str]) -> None:
    """Check and import ``lines`` (first name, last name, phone) as ``actor``, and commit."""
    from organizer.people.importing import check_import, import_people

    data = ("First name,Last name,Phone\n" + "\n".join(lines) + "\n").encode()
    plan = check_import(actor, data, region="US", max_bytes=len(data), max_rows=100)
    assert plan.ok
    import_people(actor, plan, owner=None, file_name="people.csv")
    db.session.commit()


def test_an_import_is_searchable(app, make_user):
    admin = make_user("admin")
    with app.app_context():
        actor = db.session.merge(admin)
        _import(actor, ["Importada,Xylofón,(312) 555-0177"])
        _integrity_checked()
        assert len(_found(actor, "xylofon")) == 1 and _found(actor, "xylofon") == _found(actor, "3125550177")


def _plan(stmt) -> str:
    bind = db.session.get_bind()
    sql = str(stmt.compile(bind, compile_kwargs={"literal_binds": True}))
    if bind.dialect.name == "sqlite":
        return "\n".join(str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    # A small table is read whole whatever its indexes: leave the planner only bitmap scans,
    # which need an index that serves the condition itself.
    for kind in ("seqscan", "indexscan", "indexonlyscan"):
        db.session.execute(text(f"SET LOCAL enable_{kind} = off"))
    return "\n".join(row[0] for row in db.session.connection().exec_driver_sql(f"EXPLAIN {sql}"))


def test_a_search_reads_the_index_not_every_person(app, generated):
    organizer, _leader = generated
    with app.app_context():
        staff = db.session.merge(organizer)
        if db.session.get_bind().dialect.name == "sqlite":
            plan = _plan(search_people(staff, PersonFilters(q="garcia 312")))
            assert "people_search VIRTUAL TABLE" in plan, plan
            assert not re.search(r"SCAN people(?!_search)", plan), plan
        else:
            plan = _plan(select(Person.id).where(like_condition(["garcia", "312"], "312")))
            assert "ix_people_search_key_trgm" in plan and "ix_people_phone_trgm" in plan, plan
        db.session.rollback()


def test_the_search_index_exists_after_the_migrations(app):
    with app.app_context():
        bind = db.session.get_bind()
        if bind.dialect.name == "sqlite":
            triggers = set(db.session.scalars(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'people'")))
            assert {"people_search_insert", "people_search_update", "people_search_delete"} <= triggers
        else:
            indexes = set(db.session.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'people'")))
            assert {"ix_people_search_key_trgm", "ix_people_phone_trgm"} <= indexes
            assert db.session.scalar(text(
                "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'people'::regclass "
                "AND attname = 'search_key'")) == 1000


def test_the_search_page_asks_as_many_queries_for_3_matches_as_for_40(app, login_as, make_user, count_queries):
    client = login_as(make_user("organizer")).client
    counts = []
    for start, stop in ((0, 3), (3, 40)):
        with app.app_context():
            db.session.execute(insert(Person), [{"first_name": "Wanda", "last_name": f"Fixedcount{i:02d}",
                                                 "phone": f"+1312555{i:04d}"} for i in range(start, stop)])
            db.session.commit()
        client.get("/people/?q=fixedcount")  # warm up: the session's user, the organization
        with count_queries() as queries:
            page = client.get("/people/?q=fixedcount wanda").get_data(as_text=True)
        assert page.count("Fixedcount") >= min(stop, 25), page
        counts.append(queries.count)
    assert counts[0] == counts[1], counts


def test_a_large_import_joins_the_index_at_once_and_leaves_its_trigger_in_place(app, make_user, make_person):
    """The import adds its people to the index in one statement (SQLite), not through the
    trigger: afterwards the index holds exactly the people, and the trigger is back for the
    next person added."""
    make_person(first_name="Antes", last_name="Existente")
    admin = make_user("admin")
    with app.app_context():
        actor = db.session.merge(admin)
        _import(actor, [f"Persona{i},Importada{i},(312) 555-{1000 + i}" for i in range(60)])
        _integrity_checked()
        assert len(_found(actor, "importada")) == 60
        assert len(_found(actor, "existente")) == 1
        if db.session.get_bind().dialect.name == "sqlite":
            assert db.session.scalar(text(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'people_search_insert'")) == 1
        db.session.execute(insert(Person).values(first_name="Después", last_name="Nueva",
                                                 created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
        db.session.commit()
        _integrity_checked()
        assert len(_found(actor, "despues")) == 1


def test_a_failed_import_leaves_the_index_and_its_trigger_as_they_were(app, make_user, monkeypatch):
    from organizer.people import importing

    admin = make_user("admin")
    data = "First name,Last name,Phone\nFallida,Persona,(312) 555-0188\n".encode()
    with app.app_context():
        actor = db.session.merge(admin)
        plan = importing.check_import(actor, data, region="US", max_bytes=len(data), max_rows=10)

        def broken(*_args, **_kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(importing, "record_imported_consents", broken)
        with pytest.raises(RuntimeError):
            importing.import_people(actor, plan, owner=None, file_name="broken.csv")
        db.session.rollback()
        _integrity_checked()
        assert _found(actor, "fallida") == []
        if db.session.get_bind().dialect.name == "sqlite":
            assert db.session.scalar(text(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'people_search_insert'")) == 1
