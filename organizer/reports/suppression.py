"""Small-cell suppression: counts from 1 to ``threshold - 1`` are never shown, and neither is
anything they could be worked out from.

*Primary* suppression hides every count from 1 to ``threshold - 1`` (shown as "<5"; zero is
shown: it names nobody). *Complementary* suppression hides more cells, each the next-smallest
non-zero cell of a *line*: cells whose sum a reader can compare with a published total (a column
of groups and its Total row; a group's pipeline stages and its people in the base; a group's
months and its count for the period). Those are 5 or more, and shown as "hidden"; where a line
has none left, a zero is hidden instead, and shown as "<5" (true of 0).

A reader knows more than one line at a time, so after the rule of each line ("a line with one
hidden cell gives it away by subtraction") every hidden cell is checked the way a reader would
attack it (``recoverable``): subtraction, a cell worked out from one line known to the others,
the bounds the marks give ("<5" is 0 to 4, "hidden" 5 or more), and elimination over all the
lines at once. A hidden cell so recovered takes the smallest eligible cell of a line it is in
with it, and the check starts again, until none can be worked out.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

DEFAULT_THRESHOLD = 5


@dataclass(frozen=True)
class Line:
    """Cells whose sum relates to a published ``total`` (itself a cell, or ``None`` if unpublished).

    ``minus``: cells subtracted from the total (a group's stages below Leader add up to its base
    minus its leaders). ``exact``: the members add up to the total exactly; ``False`` where a
    person counts in several members (races alone or in combination, institutions), so that
    they add up to at least the total."""

    members: Sequence[Hashable]
    total: Hashable | None = None
    minus: Sequence[Hashable] = ()
    exact: bool = True


def suppress(cells: Mapping[Hashable, int], lines: Iterable[Line], threshold: int = DEFAULT_THRESHOLD, *,
             hidden: Collection[Hashable] = (), eligible: Callable[[Hashable], bool] | None = None,
             fallback: Callable[[Hashable], bool] | None = None) -> set[Hashable]:
    """The keys of ``cells`` that must not be shown (primary and complementary suppression).

    ``hidden``: cells hidden already (by another page showing the same numbers); ``eligible``:
    which cells may be hidden to protect others (by default every cell); ``fallback``: which
    others may be when nothing eligible is left to hide (by default every cell). A total is
    hidden only when a line has no other cell left to hide."""
    out = {key for key, value in cells.items() if is_primary(value, threshold)} | set(hidden)
    lines = [line for line in lines if line.members]
    # The members of a line adding up exactly to a shown 0 are each 0 to any reader: hiding one protects nothing.
    zeros = {m for line in lines if line.exact and not line.minus and line.total is not None
             and line.total not in out and cells.get(line.total, 0) == 0 for m in line.members}
    # Cells not ``eligible`` only when nothing else is left to hide: a page must not give a cell away.
    for chosen in (eligible or _anything, fallback or _anything):
        allowed = _except(zeros, chosen)
        deep = False
        while True:
            before = len(out)
            _hide_lone_cells(cells, lines, out, allowed)
            for key in recoverable(cells, lines, out, threshold, deep=deep):
                candidate = _complement(key, cells, lines, out, allowed)
                if candidate is not None:
                    out.add(candidate)
            if len(out) == before:
                if deep:
                    break
                deep = True  # settled line by line: now as a reader weighing every line at once
            else:
                deep = False
    return out


def _except(excluded: set[Hashable], allowed: Callable[[Hashable], bool]) -> Callable[[Hashable], bool]:
    return lambda key: key not in excluded and allowed(key)


def _anything(key: Hashable) -> bool:
    return True


def is_primary(value: int, threshold: int) -> bool:
    """A count shown as "<threshold" when hidden (otherwise "hidden")."""
    return 0 < value < threshold


def hidden_mark(value: int, threshold: int) -> str:
    """What a hidden cell shows: "<5" for a small count (or a zero hidden beside one), "hidden"
    for a larger count hidden to protect one (saying "<5" of it would be false)."""
    return f"<{threshold}" if value < threshold else str(_l("hidden"))


def recoverable(cells: Mapping[Hashable, int], lines: Iterable[Line], hidden: Collection[Hashable],
                threshold: int = DEFAULT_THRESHOLD, *, deep: bool = False) -> list[Hashable]:
    """The hidden cells a reader could work out from the shown cells and the lines.

    Each line is an equation ``members + minus - total = 0`` (or ``>= 0``, see ``Line.exact``). A
    reader knows every shown cell, that a "<5" cell is from 0 to ``threshold - 1`` and that a
    "hidden" one is at least ``threshold``. A line whose other cells are known, or whose bounds
    leave one value for a cell (four "<5" cells adding up to 16: each is 4), gives the cell
    away; a cell worked out is then known to every other line, until no line gives anything
    more. ``deep``: then the bounds each line leaves are carried to the others too (as far as
    ``DEEP_VISITS`` looks at each line), and elimination runs over every exact line at once
    (three lines on three hidden cells, each line with two of them, solve for all three)."""
    equations = []
    for line in lines:
        terms = [(key, 1) for key in line.members]
        terms += [(key, -1) for key in ((line.total,) if line.total is not None else ())]
        terms += [(key, 1) for key in line.minus]  # members + minus = total
        if any(key in hidden for key, _c in terms):
            equations.append((terms, line.exact))
    bounds = {}
    for terms, _exact in equations:
        for key, _c in terms:
            if key in hidden and key not in bounds:
                # "<5" is 0 to 4 (a zero is hidden beside a small count where that keeps it from
                # being worked out); "hidden", 5 or more
                bounds[key] = (0, threshold - 1) if cells.get(key, 0) < threshold else (threshold, math.inf)
    containing: dict[Hashable, list[int]] = {}
    for index, (terms, _exact) in enumerate(equations):
        for key, _c in terms:
            containing.setdefault(key, []).append(index)
    known: dict[Hashable, int] = {}
    queue, queued = deque(range(len(equations))), set(range(len(equations)))
    while queue:
        index = queue.popleft()
        queued.discard(index)
        terms, exact = equations[index]
        for key in _given_away(terms, exact, cells, hidden, known, bounds):
            for other in containing[key]:
                if other not in queued:
                    queued.add(other)
                    queue.append(other)
    if deep:
        _narrowed(equations, containing, cells, hidden, known, bounds)
        return [*known, *_determined(equations, hidden, known)]
    return list(known)


#: Elimination is done modulo this prime (exact for the pages' small coefficients, and free of
#: fractions): a cell is worked out when a reduced line holds it alone.
_PRIME = (1 << 61) - 1


def _determined(equations: list, hidden: Collection[Hashable], known: dict[Hashable, int]) -> list[Hashable]:
    """The hidden cells that elimination over the exact lines determines (their shown cells and
    those already ``known`` substituted), however many lines it takes."""
    pivots: dict[Hashable, dict[Hashable, int]] = {}
    for terms, exact in equations:
        if not exact:
            continue
        row: dict[Hashable, int] = {}
        for key, c in terms:
            if key in hidden and key not in known:
                row[key] = (row.get(key, 0) + c) % _PRIME
        row = {k: v for k, v in row.items() if v}
        for column in [k for k in row if k in pivots]:  # pivots hold no other pivot's column
            factor = row.get(column, 0)
            if factor:
                for k, v in pivots[column].items():
                    row[k] = (row.get(k, 0) - factor * v) % _PRIME
                row = {k: v for k, v in row.items() if v}
        if not row:
            continue
        column = next(iter(row))
        inverse = pow(row[column], _PRIME - 2, _PRIME)
        row = {k: v * inverse % _PRIME for k, v in row.items()}
        for other, other_row in pivots.items():
            factor = other_row.get(column, 0)
            if factor:
                for k, v in row.items():
                    other_row[k] = (other_row.get(k, 0) - factor * v) % _PRIME
                pivots[other] = {k: v for k, v in other_row.items() if v}
        pivots[column] = row
    return [column for column, row in pivots.items() if len(row) == 1]


#: How many times the deep check looks at each line: bounds of cells that may be large close in
#: by a person at a time, and a reader's patience is not endless either.
DEEP_VISITS = 40


def _narrowed(equations: list, containing: dict[Hashable, list[int]], cells: Mapping[Hashable, int],
              hidden: Collection[Hashable], known: dict[Hashable, int],
              bounds: dict[Hashable, tuple[float, float]]) -> None:
    """Carry each line's bounds to the others until they settle; a hidden cell left with one value,
    the true one, is added to ``known``."""
    lo, hi = {}, {}
    for key in containing:
        if key in hidden and key not in known:
            lo[key], hi[key] = bounds[key]
        else:
            lo[key] = hi[key] = known[key] if key in known else cells.get(key, 0)
    visits = [0] * len(equations)
    queue, queued = deque(range(len(equations))), set(range(len(equations)))
    while queue:
        index = queue.popleft()
        queued.discard(index)
        visits[index] += 1
        if visits[index] > DEEP_VISITS:
            continue
        terms, exact = equations[index]
        for key in _narrow(terms, exact, lo, hi):
            if lo[key] > hi[key]:
                return  # bounds that hold of the true counts cannot cross: nothing sound to learn
            if lo[key] == hi[key] == cells.get(key, 0) and key not in known:
                known[key] = int(lo[key])
            for other in containing[key]:
                if other not in queued:
                    queued.add(other)
                    queue.append(other)


def _narrow(terms: list[tuple[Hashable, int]], exact: bool, lo: dict, hi: dict) -> list[Hashable]:
    """Narrow the bounds of the cells of ``sum(c * x) == 0`` (``>= 0`` unless ``exact``); the cells
    whose bounds moved."""
    least = [c * (lo[k] if c > 0 else hi[k]) for k, c in terms]
    most = [c * (hi[k] if c > 0 else lo[k]) for k, c in terms]
    moved = []
    for i, (key, c) in enumerate(terms):
        if lo[key] == hi[key]:
            continue
        low, high = _left_for(i, c, least, most, 0, exact)
        if low > lo[key] or high < hi[key]:
            lo[key], hi[key] = max(lo[key], low), min(hi[key], high)
            least[i] = c * (lo[key] if c > 0 else hi[key])
            most[i] = c * (hi[key] if c > 0 else lo[key])
            moved.append(key)
    return moved


def _left_for(i: int, c: int, least: list[float], most: list[float], rest: float,
              exact: bool) -> tuple[float, float]:
    """The values the ``i``-th cell of ``sum(c * x) == rest`` (``>= rest`` unless ``exact``) may
    take, the others' ``c * x`` each lying between ``least`` and ``most``. ``c`` is 1 or -1."""
    others_least = sum(v for j, v in enumerate(least) if j != i)
    others_most = sum(v for j, v in enumerate(most) if j != i)
    low, high = rest - others_most, (rest - others_least if exact else math.inf)  # of c * x
    return (-high, -low) if c < 0 else (low, high)


def _given_away(terms: list[tuple[Hashable, int]], exact: bool, cells: Mapping[Hashable, int],
                hidden: Collection[Hashable], known: dict[Hashable, int],
                bounds: dict[Hashable, tuple[float, float]]) -> list[Hashable]:
    """The unknown cells of ``sum(c * x) == 0`` (``>= 0`` unless ``exact``) it leaves one value
    for, added to ``known``."""
    unknown = [(key, c) for key, c in terms if key in hidden and key not in known]
    if not unknown:
        return []
    rest = -sum(c * (known[key] if key in known else cells.get(key, 0)) for key, c in terms
                if key not in hidden or key in known)
    if exact and len(unknown) == 1:  # subtraction, whatever a reader believes of "<5"
        key, c = unknown[0]
        known[key] = rest * c
        return [key]
    # sum(c * x) over the unknowns equals ``rest`` (or is at least it); each c * x lies in a range
    ranges = [(c * bounds[key][0], c * bounds[key][1]) if c > 0 else (c * bounds[key][1], c * bounds[key][0])
              for key, c in unknown]
    if sum(r[1] for r in ranges) < rest or (exact and sum(r[0] for r in ranges) > rest):
        return []  # no values fit (the bounds hold of the true counts: never, but learn nothing)
    found = []
    least, most = [r[0] for r in ranges], [r[1] for r in ranges]
    for i, (key, c) in enumerate(unknown):
        low, high = _left_for(i, c, least, most, rest, exact)
        low, high = max(low, bounds[key][0]), min(high, bounds[key][1])
        if low == high == cells.get(key, 0):
            known[key] = int(low)
            found.append(key)
    return found


def _hide_lone_cells(cells: Mapping[Hashable, int], lines: list[Line], hidden: set[Hashable],
                     allowed: Callable[[Hashable], bool]) -> None:
    """The rule of each line: a published line with exactly one hidden cell hides the next-smallest
    non-zero cell of the line too, or, when every other cell is zero, a zero (or else its total).
    Repeated, since hiding a cell can leave another line with one hidden cell."""
    changed = True
    while changed:
        changed = False
        for line in lines:
            if line.total is None or line.total in hidden or any(m in hidden for m in line.minus):
                continue  # the total is not shown: nothing to subtract from
            if sum(m in hidden for m in line.members) != 1:
                continue
            choice = _smallest([m for m in line.members if m not in hidden and allowed(m)], cells)
            if choice is None and allowed(line.total):
                choice = line.total
            if choice is not None:
                hidden.add(choice)
                changed = True


def _complement(key: Hashable, cells: Mapping[Hashable, int], lines: list[Line], hidden: set[Hashable],
                allowed: Callable[[Hashable], bool]) -> Hashable | None:
    """The cell to hide so that ``key`` can no longer be worked out: the smallest shown member of
    a line it is in (``_smallest``), or a total when no line has one."""
    members, others = [], []
    for line in lines:
        ends = [line.total, *line.minus] if line.total is not None else list(line.minus)
        if key not in line.members and key not in ends:
            continue
        members += [m for m in line.members if m not in hidden and allowed(m)]
        others += [m for m in ends if m not in hidden and allowed(m)]
    choice = _smallest(members, cells)
    return choice if choice is not None else _smallest(others, cells)


def _smallest(keys: list[Hashable], cells: Mapping[Hashable, int]) -> Hashable | None:
    """The next-smallest non-zero cell of ``keys``, else a zero (hidden as "<5"), else ``None``."""
    if not keys:
        return None
    nonzero = [k for k in keys if cells.get(k, 0) > 0]
    return min(nonzero or keys, key=lambda k: (cells.get(k, 0), repr(k)))


def rate(numerator: Hashable, denominator: Hashable, cells: Mapping[Hashable, int],
         hidden: set[Hashable]) -> float | None:
    """``numerator / denominator`` as a fraction, or ``None`` when either is hidden or the denominator is 0."""
    if numerator in hidden or denominator in hidden:
        return None
    d = cells.get(denominator, 0)
    return cells.get(numerator, 0) / d if d else None
