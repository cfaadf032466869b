"""Small-cell suppression: counts from 1 to ``threshold - 1`` are never shown, and neither is
anything they could be recovered from.

Primary suppression hides every count from 1 to ``threshold - 1`` (zero is shown: it names
nobody). Complementary suppression then looks at every *line*, a set of cells whose sum a
reader can compare with a published total (a column of groups and its Total row; a group's
pipeline stages and its people in the base; a group's months and its count for the period):
a line with exactly one hidden cell would give that cell away by subtraction, so the
next-smallest non-zero cell of the line is hidden too, or, when every other cell is zero, the
line's total. Hiding a cell can expose another line, so this repeats until nothing changes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

DEFAULT_THRESHOLD = 5


@dataclass(frozen=True)
class Line:
    """Cells whose sum relates to a published ``total`` (itself a cell, or ``None`` if unpublished)."""

    members: Sequence[Hashable]
    total: Hashable | None = None


def suppress(cells: Mapping[Hashable, int], lines: Iterable[Line], threshold: int = DEFAULT_THRESHOLD) -> set[Hashable]:
    """The keys of ``cells`` that must not be shown (primary and complementary suppression)."""
    hidden = {key for key, value in cells.items() if 0 < value < threshold}
    lines = [line for line in lines if len(line.members) > 0]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if line.total is not None and line.total in hidden:
                continue  # the total is not shown: nothing to subtract from
            if line.total is None:
                continue
            hidden_here = [m for m in line.members if m in hidden]
            if len(hidden_here) != 1:
                continue
            candidates = [m for m in line.members if m not in hidden and cells.get(m, 0) > 0]
            if candidates:
                hidden.add(min(candidates, key=lambda m: (cells.get(m, 0), repr(m))))
            else:
                hidden.add(line.total)
            changed = True
    return hidden


def rate(numerator: Hashable, denominator: Hashable, cells: Mapping[Hashable, int],
         hidden: set[Hashable]) -> float | None:
    """``numerator / denominator`` as a fraction, or ``None`` when either is hidden or the denominator is 0."""
    if numerator in hidden or denominator in hidden:
        return None
    d = cells.get(denominator, 0)
    return cells.get(numerator, 0) / d if d else None
