"""Small-cell suppression: no count from 1 to 4 is shown, and none can be worked out from totals,
by a reader who subtracts along each line or eliminates across all of them at once."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from fractions import Fraction

from organizer.reports.suppression import Line, hidden_mark, recoverable, suppress


def worked_out(cells, lines: Iterable[Line], hidden) -> dict[Hashable, Fraction]:
    """The hidden cells a reader can compute exactly from the shown ones: Gaussian elimination
    over every line that adds up exactly (members + minus = total), shown cells substituted."""
    rows = []
    for line in lines:
        if not line.exact or line.total is None:
            continue
        row: dict[Hashable, Fraction] = {}
        constant = Fraction(0)
        for key, sign in [*((m, 1) for m in line.members), *((m, 1) for m in line.minus), (line.total, -1)]:
            if key in hidden:
                row[key] = row.get(key, Fraction(0)) + sign
            else:
                constant -= sign * cells.get(key, 0)
        row = {k: v for k, v in row.items() if v}
        if row:
            rows.append((row, constant))
    pivots: dict[Hashable, tuple[dict, Fraction]] = {}
    for row, constant in rows:
        for column, (pivot_row, pivot_constant) in pivots.items():
            if column in row:
                factor = row[column]
                for k, v in pivot_row.items():
                    row[k] = row.get(k, Fraction(0)) - factor * v
                constant -= factor * pivot_constant
                row = {k: v for k, v in row.items() if v}
        if not row:
            continue
        column = min(row, key=repr)
        factor = row[column]
        row, constant = {k: v / factor for k, v in row.items()}, constant / factor
        for other, (other_row, other_constant) in list(pivots.items()):
            if column in other_row:
                g = other_row[column]
                merged = {k: other_row.get(k, Fraction(0)) - g * row.get(k, Fraction(0)) for k in {*other_row, *row}}
                pivots[other] = ({k: v for k, v in merged.items() if v}, other_constant - g * constant)
        pivots[column] = (row, constant)
    return {column: constant for column, (row, constant) in pivots.items() if len(row) == 1}


def test_counts_from_one_to_four_are_hidden_and_zero_is_shown():
    cells = {"a": 0, "b": 1, "c": 4, "d": 5, "total": 10}
    hidden = suppress(cells, [], threshold=5)
    assert hidden == {"b", "c"}


def test_a_lone_small_cell_takes_the_next_smallest_of_its_line_with_it():
    cells = {"a": 3, "b": 40, "c": 12, "d": 0, "total": 55}
    lines = [Line(["a", "b", "c", "d"], "total")]
    hidden = suppress(cells, lines)
    assert hidden == {"a", "c"}  # 0 names nobody; 12 is the next-smallest
    assert worked_out(cells, lines, hidden) == {}


def test_when_no_other_count_may_be_hidden_a_zero_is_hidden_beside_it_and_the_total_stays():
    # "e" is a subtotal shown on another page: hidden here, it would be given away there
    cells = {"a": 3, "e": 6, "z": 0, "total": 9}
    lines = [Line(["a", "e", "z"], "total")]
    hidden = suppress(cells, lines, eligible=lambda key: key != "e")
    assert hidden == {"a", "z"}  # "<5" and "<5": fewer than 5 each, which is true of 0 too
    assert worked_out(cells, lines, hidden) == {}
    assert [hidden_mark(cells[k], 5) for k in ("a", "z")] == ["<5", "<5"]


def test_a_cell_hidden_to_protect_another_is_not_called_small():
    assert hidden_mark(3, 5) == "<5"
    assert hidden_mark(0, 5) == "<5"
    assert hidden_mark(12, 5) == "hidden"


def test_complementary_suppression_follows_rows_and_columns_until_nothing_can_be_recovered():
    # A 3x3 table with row and column totals: hiding one cell can expose its column, and so on.
    table = {(r, c): v for r, row in enumerate([[2, 30, 41], [17, 25, 60], [33, 8, 90]]) for c, v in enumerate(row)}
    cells = dict(table)
    lines = []
    for r in range(3):
        cells[("row", r)] = sum(table[(r, c)] for c in range(3))
        lines.append(Line([(r, c) for c in range(3)], ("row", r)))
    for c in range(3):
        cells[("col", c)] = sum(table[(r, c)] for r in range(3))
        lines.append(Line([(r, c) for r in range(3)], ("col", c)))
    hidden = suppress(cells, lines)
    assert (0, 0) in hidden
    assert worked_out(cells, lines, hidden) == {}
    assert len([k for k in hidden if k in table]) >= 4  # at least a rectangle of four cells


def test_stages_and_leaders_together_give_nothing_away():
    """The audit's case: Emerging = base - Contact - Prospect - leaders, two lines at once. The
    stages add up to the base and the leader stages to the leaders, each line with two hidden
    cells: together they gave the Emerging leaders away."""
    cells = {"contact": 44, "prospect": 12, "emerging": 2, "leader": 9, "core": 3, "base": 70, "leaders": 12}
    lines = [Line(["contact", "prospect", "emerging", "leader", "core"], "base"),
             Line(["leader", "core"], "leaders"),
             Line(["contact", "prospect", "emerging"], "base", minus=["leaders"])]
    hidden = suppress(cells, lines)
    assert {"emerging", "core"} <= hidden
    assert worked_out(cells, lines, hidden) == {}
    assert recoverable(cells, lines, hidden, deep=True) == []


def test_lines_that_each_hide_two_cells_can_still_give_one_away_together():
    """x + y, y + z and x + z + w are each shown with two of their cells hidden, yet three lines
    on three hidden cells solve for all of them: one more cell is hidden."""
    cells = {"x": 3, "y": 10, "z": 20, "w": 40, "xy": 13, "yz": 30, "xzw": 63}
    lines = [Line(["x", "y"], "xy"), Line(["y", "z"], "yz"), Line(["x", "z", "w"], "xzw")]
    assert worked_out(cells, lines, {"x", "y", "z"}) == {"x": 3, "y": 10, "z": 20}
    hidden = suppress(cells, lines)
    assert worked_out(cells, lines, hidden) == {}
    assert "w" in hidden


def test_a_shown_total_of_small_cells_is_not_all_ones():
    """Five "<5" cells adding up to a shown 5 are not known to be 1 each: "<5" is 0 to 4 (a zero
    is hidden, as "<5", where that keeps a small count from being worked out), and elimination
    over one line with five unknowns solves none."""
    cells = {f"m{i}": 1 for i in range(5)} | {"zero": 0, "total": 5}
    lines = [Line([*(f"m{i}" for i in range(5)), "zero"], "total")]
    hidden = suppress(cells, lines)
    assert {f"m{i}" for i in range(5)} <= hidden
    assert worked_out(cells, lines, hidden) == {}


def test_where_people_count_in_several_groups_the_line_is_only_a_lower_bound():
    # races alone or in combination: 6 + 5 people in groups, 9 people in all
    cells = {"a": 6, "b": 3, "c": 2, "total": 9}
    lines = [Line(["a", "b", "c"], "total", exact=False)]
    hidden = suppress(cells, lines)
    assert {"b", "c"} <= hidden and "total" not in hidden


def test_no_page_gives_a_hidden_count_away_alone_or_beside_the_others(app, world):
    """Forty people of random races, neighborhoods and activity: on every page (each split, race
    mode and trend), elimination over all the page's lines works out no hidden cell. The race ×
    neighborhood table's subtotals are the race/ethnicity page's rows and the neighborhood page's:
    it lists every one of them, hides exactly what those pages hide, and the three pages read
    together give nothing away either."""
    from organizer.relational.services import local_today
    from organizer.reports.services import (
        SPLITS,
        TOTAL,
        EquityQuery,
        default_period,
        equity_report,
        page_lines,
    )

    with app.test_request_context():
        period = default_period(local_today())
        reports = {}
        for split in SPLITS:
            for mode in ("combination", "multiracial"):
                for trend in ("one_to_ones", "reached"):
                    report = equity_report(EquityQuery(period, split=split, race_mode=mode, trend=trend))
                    assert report.hidden, (split, mode, trend)  # small groups: something to hide
                    assert worked_out(report.cells, page_lines(report), report.hidden) == {}, (split, mode, trend)
                    reports[(split, mode, trend)] = report
        for (split, mode, trend), crossed in reports.items():
            if split != "race_neighborhood":
                continue
            lines, hidden = list(page_lines(crossed)), set(crossed.hidden)
            for page, dim in (("race", "race"), ("neighborhood", "nb")):
                theirs = reports[(page, mode, trend)]

                def here(key, dim=dim):  # a cell of that page as the crossed table keys it
                    group = key[2] if key[0] == "m" else key[1]
                    row = TOTAL if group == TOTAL else (dim, group[1], None) if dim == "race" else (dim, None, group[1])
                    return (key[0], key[1], row) if key[0] == "m" else (key[0], row, key[2])

                assert {here(key) for key in theirs.cells} <= set(crossed.cells), (mode, trend, page)
                for key in theirs.cells:
                    assert (here(key) in crossed.hidden) == (key in theirs.hidden), (mode, trend, key)
                lines += [Line([here(k) for k in line.members], here(line.total) if line.total is not None else None,
                               [here(k) for k in line.minus], line.exact) for line in page_lines(theirs)]
                hidden |= {here(key) for key in theirs.hidden}
            assert worked_out(crossed.cells, lines, hidden) == {}, (mode, trend)


def test_a_group_nobody_is_in_is_not_hidden_to_protect_another():
    """Its zeros are known to be zeros (the race × neighborhood table has no row for it; a line of
    cells adding up to a shown 0): "<5" there would protect nothing."""
    # "z" is 0, and so is the group's every count: its line adds up to a shown 0
    cells = {"a": 3, "e": 6, "z": 0, "total": 9, "z_here": 0, "z_there": 0, "z_total": 0}
    lines = [Line(["a", "e", "z"], "total"), Line(["z_here", "z_there"], "z_total"), Line(["z"], "z_here")]
    hidden = suppress(cells, lines, eligible=lambda key: key not in ("e", "total"))  # shown on other pages
    assert hidden == {"a", "e"}  # not {"a", "z"}: a reader knows "z" is 0, so "a" would be 3
    assert worked_out(cells, lines, hidden) == {}
