"""A large file's rows are checked by two processes (``importing.PARALLEL_CHECK_ROWS``): the plan
is exactly the one a single pass makes, errors by line, new tags spelled as their first row
spells them, repeats and households across the two halves, the managed lists' tags and
neighborhoods. Should the second process not answer, its half is checked in the first."""

from __future__ import annotations

import logging
import os

import pytest

from organizer.extensions import db
from organizer.people import importing

HEADER = "uuid,first_name,last_name,email,Phone Number,can2_user_tags,Neighborhood,SMS\n"


def _file() -> bytes:
    """Forty rows (lines 2 to 41): the second half repeats people of the first (ids an-0 to an-6
    again) and contradicts it, and both have errors."""
    rows = []
    for i in range(40):
        phone = f"+1312555{i:04d}" if i % 3 else ("55 1234 5678" if i % 2 else "")
        # "Tenants" spelled as the first half spells it; "Nuevos" named in the second half only.
        tag = ["", "Youth", "youth;Tenants" if i < 20 else "youth;TENANTS;Nuevos", "Vecinos, Youth"][i % 4]
        rows.append(f'an-{i % 33},Ana{i},López,ana{i}@example.org,{phone},"{tag}",Southside,yes')
    rows[5] = "an-5,Bea,Ruiz,not-an-email,12,,Nowhere,maybe"  # three errors and a phone error
    rows[25] = "an-90,Ana1,López,ana1@example.org,,,,"  # the same email as line 3
    rows[30] = "an-91,Ana2,López,,+13125550002,,,"  # the phone and name of line 4
    rows[35] = "an-92,,Sin Nombre,,,,Southside,no"  # no first name
    return (HEADER + "\n".join(rows) + "\n").encode()


def _plan(actor, data: bytes, *, parallel_from: int) -> importing.ImportPlan:
    importing.PARALLEL_CHECK_ROWS = parallel_from
    return importing.check_import(actor, data, region="US", max_bytes=len(data), max_rows=100,
                                  preset="action_network")


@pytest.fixture
def restore_threshold():
    threshold = importing.PARALLEL_CHECK_ROWS
    yield
    importing.PARALLEL_CHECK_ROWS = threshold


needs_two_cores = pytest.mark.skipif(importing._usable_cores() < 2, reason="the check forks only on two cores")


@needs_two_cores
def test_two_processes_make_the_plan_one_pass_makes(app, make_user, make_tag, make_neighborhood, organization,
                                                    restore_threshold, caplog):
    organization(member_phone_regions="MX")
    make_tag("Youth")
    make_neighborhood("Southside")
    data = _file()
    with app.app_context():
        actor = db.session.merge(make_user("admin"))
        one_pass = _plan(actor, data, parallel_from=10_000)
        with caplog.at_level(logging.WARNING, logger=importing.log.name):
            two = _plan(actor, data, parallel_from=2)
        # The rows hold this session's tags and neighborhoods, as a single pass's do.
        youth = [tag for row in two.rows for tag in row.tags]
        assert youth and all(tag in db.session and tag.name == "Youth" for tag in youth)
        assert all(row.neighborhood in db.session and row.neighborhood.name == "Southside" for row in two.rows)
    assert "gave no answer" not in caplog.text  # the child answered: its half was not redone here
    assert two.errors == one_pass.errors
    assert [(e.line, e.column) for e in two.errors] == [
        (7, "Phone Number"), (7, "email"), (7, "Neighborhood"), (7, "SMS"),
        (27, "email"), (32, "Phone Number"), (37, "first_name")]
    # Repeats of an earlier id: an-0, an-1, an-3, an-4, an-6 (an-5's first row had errors).
    assert two.repeated == one_pass.repeated == 5
    assert two.rows == one_pass.rows and len(two.rows) == 40 - 4 - 5
    assert two.new_tags == one_pass.new_tags == ["Nuevos", "Tenants", "Vecinos"]
    assert [row.new_tags for row in two.rows if row.line == 24] == [["Tenants", "Nuevos"]]
    # "55 1234 5678" is also a Mexican number: every row typing it is listed, repeats included.
    assert two.to_resolve == one_pass.to_resolve and [r.line for r in two.to_resolve] == [5, 11, 17, 23, 29, 35, 41]


@needs_two_cores
def test_a_second_process_that_dies_has_its_half_checked_here(app, make_user, make_tag, make_neighborhood,
                                                               restore_threshold, monkeypatch, caplog):
    make_tag("Youth")
    make_neighborhood("Southside")
    data = _file()
    with app.app_context():
        actor = db.session.merge(make_user("admin"))
        one_pass = _plan(actor, data, parallel_from=10_000)
        monkeypatch.setattr(importing, "_check_in_child", lambda *args: os._exit(3))
        with caplog.at_level(logging.WARNING, logger=importing.log.name):
            two = _plan(actor, data, parallel_from=2)
    assert "gave no answer" in caplog.text
    assert (two.rows, two.errors, two.to_resolve, two.new_tags) == (
        one_pass.rows, one_pass.errors, one_pass.to_resolve, one_pass.new_tags)
