"""Small-cell suppression: no count from 1 to 4 is shown, and none can be worked out from totals."""

from __future__ import annotations

from organizer.reports.suppression import Line, suppress


def _recoverable(cells, lines, hidden) -> list:
    """Hidden cells a reader could work out: the only hidden cell of a line whose total is shown."""
    found = []
    for line in lines:
        if line.total is None or line.total in hidden:
            continue
        hidden_here = [m for m in line.members if m in hidden]
        if len(hidden_here) == 1:
            found.append(hidden_here[0])
    return found


def test_counts_from_one_to_four_are_hidden_and_zero_is_shown():
    cells = {"a": 0, "b": 1, "c": 4, "d": 5, "total": 10}
    hidden = suppress(cells, [], threshold=5)
    assert hidden == {"b", "c"}


def test_a_lone_small_cell_takes_the_next_smallest_of_its_line_with_it():
    cells = {"a": 3, "b": 40, "c": 12, "d": 0, "total": 55}
    lines = [Line(["a", "b", "c", "d"], "total")]
    hidden = suppress(cells, lines)
    assert hidden == {"a", "c"}  # 0 names nobody; 12 is the next-smallest
    assert not _recoverable(cells, lines, hidden)


def test_when_every_other_cell_is_zero_the_total_is_hidden():
    cells = {"a": 3, "b": 0, "total": 3}
    hidden = suppress(cells, [Line(["a", "b"], "total")])
    assert hidden == {"a", "total"}


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
    assert not _recoverable(cells, lines, hidden)
    assert len([k for k in hidden if k in table]) >= 4  # at least a rectangle of four cells
