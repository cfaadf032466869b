"""The people list's count of a search: matches counted up to ``MATCHES_COUNTED`` in the search
index (SQLite), "N+ people" beyond with a pager that still knows whether a page follows, the
same people in the same order on every page whichever way a page is read, and the same
statements whatever the number of matches."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text

from organizer.extensions import db
from organizer.people import services
from organizer.people.models import Person
from organizer.people.search_index import IndexedCount, indexed_count, indexed_ids
from organizer.people.services import PersonFilters, search_people

PER_PAGE = 4


def _on_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _add(app, count: int, *, last: str = "Zanzibar", start: int = 0, **values) -> None:
    with app.app_context():
        db.session.execute(insert(Person), [{"first_name": f"Pat{i:02d}", "last_name": last, **values}
                                            for i in range(start, start + count)])
        db.session.commit()


def _listed(page: str) -> list[str]:
    return re.findall(r'<a href="/people/\d+">(Pat\d+) Zanzibar</a>', page)


def _total(page: str) -> str:
    return re.search(r'data-testid="people-total">([^<]*)<', page).group(1)


def _pager(page: str) -> str:
    return re.search(r'<span class="page-link">([^<]*)</span>', page).group(1)


def _has_next(page: str) -> bool:
    return re.search(r'<li class="page-item (disabled)?">\s*<a class="page-link" href="[^"]*">Next</a>', page
                     ).group(1) is None


@pytest.fixture
def small_pages(app, monkeypatch):
    """Five matches counted at most, four people a page: the rule at the scale of a test."""
    monkeypatch.setattr(services, "MATCHES_COUNTED", 5)
    app.config["PEOPLE_PER_PAGE"] = PER_PAGE


@pytest.mark.parametrize("matches", [13, 12])
def test_a_search_finding_more_than_is_counted_says_so_and_still_pages_to_the_end(
        app, make_user, login_as, small_pages, matches):
    _add(app, matches)
    _add(app, 3, last="Elsewhere")
    client = login_as(make_user("organizer")).client
    with app.app_context():
        capped = _on_sqlite()
    pages, listed = (matches + PER_PAGE - 1) // PER_PAGE, []
    for number in range(1, pages + 1):
        page = client.get(f"/people/?q=zanzibar&page={number}").get_data(as_text=True)
        if capped:
            assert _total(page) == "5+ people" and _pager(page) == f"Page {number}"
        else:  # PostgreSQL counts every match: its trigram index serves the count as it is
            assert _total(page) == f"{matches} people" and _pager(page) == f"Page {number} of {pages}"
        # A page follows exactly when there are more matches: the last page, full or not, has none.
        assert _has_next(page) == (number < pages), number
        listed += _listed(page)
    assert listed == [f"Pat{i:02d}" for i in range(matches)]


def test_a_search_below_the_count_and_a_leaders_search_are_counted_exactly(app, make_user, login_as, small_pages):
    leader = make_user("leader")
    _add(app, 5)
    _add(app, 7, start=5, owner_id=leader.id)
    client = login_as(make_user("organizer")).client
    many = client.get("/people/?q=pat0").get_data(as_text=True)  # Pat00 to Pat09
    with app.app_context():
        assert _total(many) == ("5+ people" if _on_sqlite() else "10 people")
    one = client.get("/people/?q=pat04").get_data(as_text=True)
    assert _total(one) == "1 person" and _listed(one) == ["Pat04"] and "page-link" not in one
    mine = login_as(leader).client.get("/people/?q=zanzibar").get_data(as_text=True)
    assert _total(mine) == "7 people" and _pager(mine) == "Page 1 of 2"  # a leader's list: counted whole
    assert _has_next(mine)


def test_the_count_says_so_in_spanish(app, make_user, login_as, small_pages):
    _add(app, 9)
    staff = make_user("organizer", locale="es")
    page = login_as(staff).client.get("/people/?q=zanzibar").get_data(as_text=True)
    with app.app_context():
        if _on_sqlite():
            assert _total(page) == "5+ personas" and _pager(page) == "Página 1"
        else:
            assert _total(page) == "9 personas" and _pager(page) == "Página 1 de 3"


def test_the_index_stops_counting_past_the_cap_and_leaves_archived_people_out(app):
    _add(app, 4, archived_at=datetime(2026, 1, 1, tzinfo=UTC))  # the lowest ids: read first by the index
    _add(app, 10, start=4)
    with app.app_context():
        if not _on_sqlite():
            pytest.skip("the FTS5 index is SQLite's")
        ids = indexed_ids(["zanzibar"], "")
        assert (indexed_count(ids).count, indexed_count(ids).more) == (10, False)
        for cap, expected in ((20, IndexedCount(10)), (10, IndexedCount(10)), (9, IndexedCount(9, more=True)),
                              (3, IndexedCount(3, more=True))):
            counted = indexed_count(ids, cap=cap)
            assert (counted.count, counted.more) == (expected.count, expected.more), cap
        # Fourteen consecutive ids hold the fourteen matches: about one id a match.
        assert 1.0 <= indexed_count(ids).stride < 2.0


def test_a_page_of_many_matches_is_read_along_the_name_index_comparing_each_row(app, make_user):
    organizer = make_user("organizer")
    _add(app, 12)
    with app.app_context():
        if not _on_sqlite():
            pytest.skip("PostgreSQL's planner chooses by itself")
        staff = db.session.merge(organizer)

        def plan(matches: IndexedCount, first_rows: int) -> str:
            stmt = search_people(staff, PersonFilters(q="zanzibar"), matches=matches, first_rows=first_rows)
            sql = str(stmt.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True}))
            return "\n".join(str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))

        dense = plan(IndexedCount(1000, more=True, stride=10.0), 50)  # about 500 rows to read: walked
        assert "people_search" not in dense and "ix_people_name" in dense, dense
        # Far into the list, or matches too sparse along the names: each id looked up in the index.
        assert "people_search" in plan(IndexedCount(1000, more=True, stride=10.0), 50_000)
        assert "people_search" in plan(IndexedCount(1000, more=True, stride=500.0), 50)
        assert "people_search" in plan(IndexedCount(800), 50)  # counted whole: not more than counted


@pytest.mark.parametrize("counted", [1000, 5])
def test_the_search_page_asks_as_many_queries_for_3_matches_as_for_40(
        app, login_as, make_user, count_queries, monkeypatch, counted):
    monkeypatch.setattr(services, "MATCHES_COUNTED", counted)  # 5: the 40 are more than counted
    client = login_as(make_user("organizer")).client
    counts = []
    for start, stop in ((0, 3), (3, 40)):
        _add(app, stop - start, start=start)
        client.get("/people/?q=zanzibar")  # warm up: the session's user, the organization
        with count_queries() as queries:
            page = client.get("/people/?q=zanzibar pat").get_data(as_text=True)
        assert len(_listed(page)) == min(stop, 50), page
        counts.append(queries.count)
    assert counts[0] == counts[1], counts
