"""What every page shares: error pages, template helpers, pagination, safe redirects."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from flask import Flask, Response, abort, render_template, request
from flask.globals import _cv_app, _cv_request
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_timezone
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter, RoutingException

#: The largest id or number a query may carry: what an INTEGER column holds on PostgreSQL (which
#: raises "integer out of range" beyond it) and what SQLite binds without overflowing.
MAX_DB_INT = 2**31 - 1


class DatabaseIntConverter(IntegerConverter):
    """``<int:...>`` in every route, bounded by ``MAX_DB_INT``: ``/people/99999999999999999999``
    is a 404 like any other missing row, not a database error."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's parameter name
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(map, *args, **kwargs)


class OrganizerFlask(Flask):
    """Flask, with the links of a request built from a pattern kept per route.

    A page links to the same few routes over and over (its own actions, a link per row, the
    menu and assets of every page), and Werkzeug works out each link again: 15-25 µs each, a
    millisecond of a person's or an action's page. A link to a route differs from the previous
    one only by its whole-number values (ids), so the first link to a route with a given set of
    arguments is built by Werkzeug with stand-in numbers, and later ones put their own numbers
    in that pattern (``_link_pattern``). Text values (a file name, a filter) are part of the
    pattern's key; anything else (an anchor, a method, an external link, a float, a value
    Werkzeug would look at, links outside a request) goes to Flask as before.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.link_patterns: dict[tuple, tuple[tuple[str, ...], tuple[int, ...]] | None] = {}

    def url_for(self, endpoint: str, /, *, _anchor: str | None = None, _method: str | None = None,
                _scheme: str | None = None, _external: bool | None = None, **values: Any) -> str:
        context = _cv_request.get(None)
        if (context is None or _anchor is not None or _method is not None or _scheme is not None
                or _external or endpoint[:1] == "." or self.url_default_functions):
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                                   _external=_external, **values)
        script_name = context.url_adapter.script_name
        if values:
            # A whole number is a gap of the pattern (its name in the key), text and None are
            # part of it (name and value in the key); anything else goes to Flask.
            key = (endpoint, script_name, *[
                name if type(value) is int and value >= 0
                else (name, value) if value is None or type(value) is str
                else _UNPATTERNED for name, value in values.items()])
            if _UNPATTERNED in key:
                return super().url_for(endpoint, **values)
        else:
            key = (endpoint, script_name)
        pattern = self.link_patterns.get(key, _UNPATTERNED)
        if pattern is _UNPATTERNED:
            pattern = _link_pattern(context.url_adapter, endpoint, values)
            if len(self.link_patterns) >= LINK_PATTERNS_KEPT:
                self.link_patterns.clear()
            self.link_patterns[key] = pattern
        if pattern is None:
            return super().url_for(endpoint, **values)
        parts, order = pattern
        if not order:
            return parts[0]
        numbers = [value for value in values.values() if type(value) is int]
        link = [parts[0]]
        for index, part in zip(order, parts[1:], strict=True):
            link.append(str(numbers[index]))
            link.append(part)
        return "".join(link)


#: A value ``OrganizerFlask.url_for`` leaves to Flask, and a pattern not worked out yet.
_UNPATTERNED = object()

#: Link patterns kept by ``OrganizerFlask``: a bound, since text values (a search typed in a
#: filter) are part of the key.
LINK_PATTERNS_KEPT = 2048

#: Stand-in numbers of a link pattern: unlikely in a link, and checked to appear once each.
_STAND_IN = 1_987_654_301


def _link_pattern(adapter: Any, endpoint: str,
                  values: dict[str, Any]) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """The link to ``endpoint`` with ``values`` as Werkzeug builds it, cut where its whole
    numbers go: the text around them, and which number (by its place among ``values``' whole
    numbers) goes in each gap. ``None``: a link this cannot be sure of, built by Flask each time.

    Werkzeug writes a whole number as ``str(number)`` in a path (the int converter) and in a
    query string alike, and picks among an endpoint's routes by the names of the values given,
    not by the values, unless a route has defaults: those routes are left to Flask.
    """
    if any(rule.defaults for rule in adapter.map._rules_by_endpoint.get(endpoint, ())):
        return None
    stand_ins, count = {}, 0
    for name, value in values.items():
        if type(value) is int:
            stand_ins[name] = _STAND_IN + count
            count += 1
        else:
            stand_ins[name] = value
    try:
        built = adapter.build(endpoint, stand_ins, force_external=False)
    except Exception:  # noqa: BLE001 - Flask builds it again and reports the error its own way
        return None
    found = []
    for index in range(count):
        text = str(_STAND_IN + index)
        if built.count(text) != 1:
            return None
        found.append((built.index(text), index, len(text)))
    parts, order, start = [], [], 0
    for position, index, length in sorted(found):
        parts.append(built[start:position])
        order.append(index)
        start = position + length
    parts.append(built[start:])
    return tuple(parts), tuple(order)


def db_int(value: str) -> int:
    """A whole number from the query string that a query can carry: ``request.args.get(name,
    type=db_int)`` falls back to its default (a filter left off) for ``abc`` or a number beyond
    ``MAX_DB_INT``, instead of reaching the database and failing there.

    :raise ValueError: when ``value`` is not such a number (werkzeug turns it into the default).
    """
    number = int(value)
    if not -MAX_DB_INT <= number <= MAX_DB_INT:
        raise ValueError(value)
    return number


#: Dates a query may ask about: anything else is a typo, and the extremes of ``date`` overflow
#: as soon as a day or a time zone is added to them.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2999, 12, 31)


def date_arg(name: str) -> date | None:
    """The ISO date (``2026-11-29``) in query argument ``name``; ``None`` when absent, not a date
    (``2026-02-30``) or outside ``EARLIEST_DATE``..``LATEST_DATE`` (the page then uses its default)."""
    try:
        day = date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None
    return day if EARLIEST_DATE <= day <= LATEST_DATE else None


def page_arg() -> int:
    """The ``page`` of a paged list: 1 when absent, not a number or below 1 (as the lists always
    did); a 404 beyond ``MAX_DB_INT`` (``?page=99999999999999999999``), a page that cannot exist.
    """
    raw = request.args.get("page", "").strip()
    try:
        page = int(raw)
    except ValueError:
        return 1
    if page > MAX_DB_INT:
        abort(404)
    return max(page, 1)


def reject_nul_bytes() -> None:
    """A 400 for a NUL character anywhere in the query string or a posted form: PostgreSQL
    refuses it in text ("A string literal cannot contain NUL"), so it would otherwise end
    as a server error, and no one types it."""
    values = [*request.args.values()]
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        values += request.form.values()
    if any("\x00" in value for value in values):
        abort(400)


@dataclass
class Pagination:
    """Page numbers for a list page. ``more``: ``total`` is where counting stopped, more rows
    follow it (the pager then shows no last page); ``following``: whether a page follows, when
    the caller knows it better than the total does."""

    page: int
    per_page: int
    total: int
    more: bool = False
    following: bool | None = None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        if self.following is not None:
            return self.following
        return self.page < self.pages


def is_safe_redirect(target: str | None) -> bool:
    """Only local paths are followed after login: no scheme, no host, no ``//`` or ``\\`` tricks."""
    if not target:
        return False
    target = target.strip()
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    )


def url_with(**changes: object) -> str:
    """The current URL with some query arguments replaced (for sort and page links)."""
    from flask import url_for

    view_args = request.view_args or {}
    # A query argument named like a path argument (``/actions/7?action_id=8``) is not carried over.
    args = {k: v for k, v in request.args.to_dict().items() if k not in view_args}
    args.update({k: v for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        args.pop(key, None)
    return url_for(request.endpoint or "home.index", **view_args, **args)


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """A stored UTC time in the federation's time zone and the user's language."""
    if value is None:
        return ""
    if fmt not in _QUICK_FORMATS:
        return format_datetime(value, fmt)
    # What Babel's format_datetime does for a named format, with the locale's patterns turned
    # once per process into functions that write the fields (``_pattern_writer``: Babel finds
    # and parses the patterns again for each time and writes each field through a lookup of its
    # own, 45-60 µs a time, some twenty of them on a person's page), and the zone through
    # zoneinfo as in ``local_date``. A naive time is UTC, as Flask-Babel takes it.
    zone, locale_name = _time_settings()
    return _written_datetime(value, zone, fmt, locale_name)


def zoned_datetime(value: datetime | None, zone_name: str, fmt: str = "medium") -> str:
    """A stored UTC time in the time zone ``zone_name`` (an action's own) and the user's
    language, as Babel's ``format_datetime`` writes it with that ``tzinfo``."""
    if value is None:
        return ""
    if fmt not in _NAMED_FORMATS:
        return babel_dates.format_datetime(value, fmt, tzinfo=_zone(zone_name), locale=get_locale())
    return _written_datetime(value, _zone(zone_name), fmt, _time_settings()[1])


def _written_datetime(value: datetime, zone: ZoneInfo, fmt: str, locale_name: str) -> str:
    moment = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(zone)
    frame, day, clock = _datetime_writers(fmt, locale_name)
    return frame.replace("{0}", clock(moment)).replace("{1}", day(moment))


def _time_settings() -> tuple[ZoneInfo, str]:
    """The time zone (zoneinfo) and the language name times are written in, found once per
    request and language: Flask-Babel's ``get_timezone`` and ``get_locale`` go through ``g`` for
    each time (some 15 µs the two). Kept in Flask-Babel's own per-request state beside the
    locale and zone it chose, so a forced or refreshed language is still honoured."""
    context = _cv_app.get(None)
    state = context.g.__dict__.get("_flask_babel") if context is not None else None
    locale = getattr(state, "babel_locale", None)
    tzinfo = getattr(state, "babel_tzinfo", None)
    if locale is None or tzinfo is None:  # not chosen yet in this request (or outside one)
        locale, tzinfo = get_locale(), get_timezone()
        state = context.g.__dict__.get("_flask_babel") if context is not None else None
    kept = getattr(state, "organizer_time_settings", None)
    if kept is None or kept[0] is not locale or kept[1] is not tzinfo:
        kept = (locale, tzinfo, _zone(getattr(tzinfo, "zone", None) or str(tzinfo)), str(locale))
        if state is not None:
            state.organizer_time_settings = kept
    return kept[2], kept[3]


#: The named formats ``local_datetime`` draws itself: their patterns hold no time zone name
#: (which Babel names from pytz, the other formats keep going through Flask-Babel).
_QUICK_FORMATS = frozenset({"short", "medium"})
#: The named formats ``zoned_datetime`` draws itself (a zoneinfo zone, as it gave Babel).
_NAMED_FORMATS = frozenset({"short", "medium", "long", "full"})


@lru_cache(maxsize=16)
def _datetime_writers(fmt: str, locale_name: str) -> tuple[str, Callable[[datetime], str], Callable[[datetime], str]]:
    """Babel's datetime frame (``{1}, {0}``), and writers of the date and the time of a named format."""
    locale = Locale.parse(locale_name)
    return (str(babel_dates.get_datetime_format(fmt, locale=locale)).replace("'", ""),
            _pattern_writer(babel_dates.get_date_format(fmt, locale=locale).pattern, locale, "date"),
            _pattern_writer(babel_dates.get_time_format(fmt, locale=locale).pattern, locale, "time"))


def _pattern_writer(pattern: str, locale: Locale, part: str = "date") -> Callable[[datetime], str]:
    """A function writing a time (already in its zone) as Babel's ``format_date`` (``part``
    "date") or ``format_time`` ("time") writes it with ``pattern`` in ``locale``: the pattern's
    text as it is, and each field as Babel's ``DateTimeFormat`` writes it. The fields of the
    short and medium formats (year, month, day, hours, minutes, seconds, AM/PM) are written
    here with the locale's names looked up once; any other field (a weekday, a zone's name) is
    handed to Babel with the value Babel gives it: the day, or the time of day with its zone
    and its day."""
    pieces: list[Callable[[datetime], str]] = []
    for kind, token in babel_dates.tokenize_pattern(pattern):
        if kind == "chars":
            pieces.append(lambda moment, text=token: text)
        else:
            char, num = token
            pieces.append(_field_writer(char, num, locale, part))
    return lambda moment: "".join([piece(moment) for piece in pieces])


def _field_writer(char: str, num: int, locale: Locale, part: str) -> Callable[[datetime], str]:
    """One field of a pattern, as ``babel.dates.DateTimeFormat.__getitem__`` writes it."""
    numbers = {"d": "day", "H": "hour", "m": "minute", "s": "second"}
    if char in numbers:
        name = numbers[char]
        return lambda moment: f"{getattr(moment, name):0{num}d}"
    if char == "h":
        return lambda moment: f"{moment.hour % 12 or 12:0{num}d}"
    if char == "y":
        if num == 2:
            return lambda moment: f"{moment.year:0{num}d}"[-2:]
        return lambda moment: f"{moment.year:0{num}d}"
    if char == "M":
        if num <= 2:
            return lambda moment: f"{moment.month:0{num}d}"
        width = {3: "abbreviated", 4: "wide", 5: "narrow"}[num]
        names = dict(babel_dates.get_month_names(width, "format", locale))
        return lambda moment: names[moment.month]
    if char == "a":
        periods = {}
        for period in ("am", "pm"):  # the first width that has it, as Babel's format_period looks
            for width in ({3: "abbreviated", 4: "wide", 5: "narrow"}[max(3, num)], "wide", "narrow", "abbreviated"):
                names = babel_dates.get_period_names(context="format", width=width, locale=locale)
                if period in names:
                    periods[period] = names[period]
                    break
        if len(periods) == 2:
            return lambda moment: periods["pm" if moment.hour >= 12 else "am"]
    field = char * num
    if part == "time":
        return lambda moment: babel_dates.DateTimeFormat(moment.timetz(), locale, moment.date())[field]
    return lambda moment: babel_dates.DateTimeFormat(moment.date(), locale)[field]


def local_date(value: datetime | None, fmt: str = "medium") -> str:
    """The calendar day of a stored UTC time in the federation's time zone, in the user's language."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        # The day in the federation's zone through zoneinfo: Flask-Babel's to_user_timezone goes
        # through pytz (astimezone, then normalize), some 30 µs a date, a millisecond and more
        # on a list of fifty. A naive time is UTC, as Flask-Babel takes it.
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        day = moment.astimezone(_time_settings()[0]).date()
    else:
        day = value
    return _formatted_day(day, fmt, _time_settings()[1])


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# A list page formats fifty dates, many of them the same day, and Babel works each one out
# again: a day's text depends only on the day, the format and the language, so a process keeps
# the last few thousand (fifty dates: 1.4 ms of CPU before, 0.9 ms after).
@lru_cache(maxsize=4096)
def _formatted_day(day: date, fmt: str, locale: str) -> str:
    return format_date(day, fmt)  # a date, not a datetime: nothing to move to another time zone


def day_format(value: date | datetime | None, fmt: str | None = None) -> str:
    """Flask-Babel's ``dateformat`` filter, with a calendar day's text kept as ``local_date``
    keeps it (a day's text depends only on the day, the format and the language); a time
    (moved to the federation's zone first) still goes through Flask-Babel."""
    if type(value) is date:
        return _formatted_day(value, fmt or "medium", _time_settings()[1])
    return format_date(value, fmt)


# Scripts and styles only from our own files: no inline <script>, on*= handler or style=
# attribute runs (templates use classes; scripts live in static/js). Bootstrap's CSS draws its
# icons (checkboxes, selects) with data: images. Nothing may frame the pages.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

# Areas that add to shared pages: base.html, the home page and the person page include
# (through ``area_templates``) ``<area>/_nav.html``, ``_nav_admin.html``, ``_home_today.html``, ``_home_cards.html``, ``_home_actions.html``,
# ``_person_actions.html``, ``_person_facts.html`` and ``_person_panels.html`` when they exist.
PAGE_HOOK_AREAS = ("relational", "campaigns", "actions", "sms", "reports")



def option_tags(options: Any, selected: Any, value: str | int = "id", text: str | int = "name") -> Markup:
    """The ``<option>`` tags of a list page's filter (``_macros/lists.html``: ``filter_select``):
    one for each of ``options`` (objects, or tuples with ``value=0, text=1``), the ``selected``
    value marked.

    The same lists (every active user, every institution) are drawn on page after page, and
    drawing hundreds of options in the template cost milliseconds of each view: the tags of a
    list and a choice are drawn once per process, found again by the values and texts
    themselves (hashing a few hundred pairs takes microseconds; a list that changed is another key).
    """
    pairs, keyable = [], not isinstance(selected, bool)
    for option in options:
        label, key = _template_item(option, text), _template_item(option, value)
        keyable = keyable and not isinstance(key, bool)  # True == 1 as a key, but is drawn "True"
        pairs.append((key, label if isinstance(label, str) else str(label)))
    if keyable:
        try:
            return _option_tags(tuple(pairs), selected)
        except TypeError:  # a value that cannot be a key: drawn each time
            pass
    return _option_tags.__wrapped__(tuple(pairs), selected)


def _template_item(option: Any, key: str | int) -> Any:
    """``option[key]`` as a template reads it: an item, else an attribute."""
    try:
        return option[key]
    except (AttributeError, TypeError, LookupError):
        if isinstance(key, str):
            return getattr(option, key)
        raise


@lru_cache(maxsize=256)
def _option_tags(pairs: tuple[tuple[Any, str], ...], selected: Any) -> Markup:
    return Markup("".join(
        f'<option value="{escape(value)}" {"selected" if selected == value else ""}>{escape(label)}</option>'
        for value, label in pairs))


def area_templates(name: str) -> list[str]:
    """``<area>/<name>`` for each area of ``PAGE_HOOK_AREAS`` that has that template, in order.

    A shared page includes these instead of trying every area with ``ignore missing``: Jinja
    keeps no memory of a template that is missing, so each such include searched the template
    folders again on every page. Found once per process (again on each call when templates
    auto-reload, as in development).
    """
    from flask import current_app
    from jinja2 import TemplateNotFound

    env = current_app.jinja_env
    found: dict[str, list[str]] = current_app.extensions.setdefault("organizer_area_templates", {})
    if name not in found or env.auto_reload:
        names = []
        for area in PAGE_HOOK_AREAS:
            try:
                env.get_template(f"{area}/{name}")
            except TemplateNotFound:
                continue
            names.append(f"{area}/{name}")
        found[name] = names
    return found[name]


#: Menus kept by ``nav_menu``: a few languages times four roles (times the script roots a
#: deployment answers under); a bound in case something unexpected varies.
NAV_MENUS_KEPT = 64

#: Stand-ins drawn in the kept navigation bar where each user's own text goes (NUL: no text
#: from a request holds it, ``reject_nul_bytes``).
_NAV_ORGANIZATION, _NAV_USER, _NAV_TOKEN = "\x00organization\x00", "\x00user\x00", "\x00token\x00"


def nav_menu() -> Markup:
    """The navigation bar (``_partials/nav_menu.html``) of the signed-in user: the main menu,
    the search, language and log-out forms.

    Its links and labels depend on the language, the user's role and where the app is mounted,
    nothing in the database: drawn once per process for each (its two dozen ``url_for`` and
    strings and the hook templates cost each page about a millisecond), with stand-ins where
    the organization's name, the user's name and the form token go, put in for each page. Drawn
    each time when templates auto-reload, as in development.
    """
    from flask import current_app
    from flask_login import current_user
    from flask_wtf.csrf import generate_csrf

    from organizer.settings.services import get_organization

    env = current_app.jinja_env
    key = (str(get_locale()), current_user.is_leader, current_user.is_staff, current_user.is_admin,
           request.script_root)
    menus: dict[tuple, str] = current_app.extensions.setdefault("organizer_nav_menus", {})
    menu = None if env.auto_reload else menus.get(key)
    if menu is None:
        menu = env.get_template("_partials/nav_menu.html").render(
            current_user=current_user, ui_languages=current_app.config["LANGUAGES"],
            organization_name=_NAV_ORGANIZATION, user_name=_NAV_USER, csrf_token=lambda: _NAV_TOKEN)
        if len(menus) >= NAV_MENUS_KEPT:
            menus.clear()
        menus[key] = menu
    return Markup(menu.replace(_NAV_ORGANIZATION, escape(get_organization().name))
                  .replace(_NAV_USER, escape(current_user.name)).replace(_NAV_TOKEN, escape(generate_csrf())))


# What areas add to a shared page, computed by the view before rendering (templates run no
# queries). ``@person_page_part("relational")`` registers ``fn(user, person)``, whose result is
# ``parts.relational`` in ``<area>/_person_facts.html`` and ``_person_panels.html``;
# ``@home_page_part("relational")`` registers ``fn(user)`` for ``<area>/_home_today.html``.
_PAGE_PARTS: dict[str, dict[str, Callable[..., Any]]] = {"person": {}, "home": {}}


def _page_part(page: str, area: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _PAGE_PARTS[page][area] = fn
        return fn

    return register


def _page_parts(page: str, *args: Any) -> dict[str, Any]:
    return {area: fn(*args) for area, fn in _PAGE_PARTS[page].items()}


def _hidden_from_viewer(error: Any) -> bool:
    """Whether the request's URL belongs to a view guarded by ``auth.access.staff_or_404`` and the
    viewer is not staff: then an error that the view would have preceded (a 405 for a method the
    URL does not take, an expired form) answers 404 as the view does."""
    from flask import current_app
    from flask_login import current_user

    from organizer.auth.access import is_hidden_from_non_staff

    if current_user.is_authenticated and current_user.is_staff:
        return False
    endpoints = [request.endpoint] if request.endpoint else []
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in getattr(error, "valid_methods", None) or ():
        try:
            endpoints.append(adapter.match(method=method)[0])
        except (HTTPException, RoutingException):
            continue
    return any(is_hidden_from_non_staff(current_app.view_functions.get(endpoint)) for endpoint in endpoints)


def person_page_part(area: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register what ``area`` adds to the person page (see ``person_page_parts``)."""
    return _page_part("person", area)


def person_page_parts(user: Any, person: Any) -> dict[str, Any]:
    """Every area's part of the person page, by area name."""
    return _page_parts("person", user, person)


def home_page_part(area: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register what ``area`` adds to the home page (see ``home_page_parts``)."""
    return _page_part("home", area)


def home_page_parts(user: Any) -> dict[str, Any]:
    """Every area's part of the home page, by area name."""
    return _page_parts("home", user)


ERROR_TITLES = {
    400: _l("The address or the form had characters that cannot be read."),
    403: _l("You do not have access to this page."),
    404: _l("This page does not exist, or you do not have access to it."),
    405: _l("That action is not allowed here."),
    413: _l("What you sent is too big. Files to import must be smaller; split the file and try again."),
    429: _l("Too many requests. Please wait a moment and try again."),
}


#: Seconds a client is asked to wait before trying again when the database is unreachable.
RETRY_AFTER_SECONDS = 10
FAULT_TITLES = {
    500: _l("Something went wrong on our side."),
    503: _l("The database cannot be reached right now."),
}
FAULT_ADVICE = {
    500: _l("Nothing you did caused this. Please try again; if it keeps happening, tell your administrator."),
    503: _l("Please try again in a moment. Nothing you saved before this is lost."),
}


def _fault_locale() -> str:
    """The reader's language without the database: their own, if their account was already
    loaded in this request (read from what is in memory, never fetched), else the browser's."""
    from flask import current_app, g
    from sqlalchemy import inspect

    languages = current_app.config["LANGUAGES"]
    user = g.get("_login_user")  # Flask-Login's cache of the request's user
    if user is not None and getattr(user, "is_authenticated", False):
        locale = inspect(user).dict.get("locale") if hasattr(user, "_sa_instance_state") else None
        if locale in languages:
            return locale
    return request.accept_languages.best_match(list(languages)) or current_app.config["BABEL_DEFAULT_LOCALE"]


def fault_page(code: int):
    """The branded page for a fault (500, 503), in the reader's language, rendered without a
    single query: no organization settings, no current user. A 503 carries ``Retry-After``.

    The template is rendered straight from the Jinja environment, skipping the context
    processors: they load the organization and (Flask-Login's) the current user."""
    from flask import current_app, make_response
    from flask_babel import force_locale

    locale = _fault_locale()
    with force_locale(locale):
        template = current_app.jinja_env.get_template("fault.html")
        html = template.render(code=code, lang=locale, title=FAULT_TITLES[code], advice=FAULT_ADVICE[code],
                               retry_url=request.full_path.rstrip("?") if request.method == "GET" else None)
    response = make_response(html, code)
    response.headers["Cache-Control"] = "no-store"
    if code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _discard_session() -> None:
    """Give the failed transaction back; a broken connection may refuse even that."""
    from organizer.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001, S110 - the connection is already gone; the pool replaces it
        pass


def init_app(app: Flask) -> None:
    """Error pages, template globals, security headers, and the client address behind a proxy."""
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    app.url_map.converters["int"] = DatabaseIntConverter
    app.before_request(reject_nul_bytes)

    # Browsers and bookmarks ask for /favicon.ico whatever the page's <link rel="icon"> says.
    # 217 bytes, read once: no file to open (and leave open) per request.
    icon = (Path(app.static_folder or "") / "img" / "favicon.ico").read_bytes()

    @app.get("/favicon.ico")
    def favicon():
        return Response(icon, mimetype="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})

    def handle_error(error):
        code = getattr(error, "code", 500) or 500
        if code == 405 and _hidden_from_viewer(error):
            code = 404
        return render_template("error.html", code=code, message=ERROR_TITLES.get(code, error)), code

    for code in ERROR_TITLES:
        app.register_error_handler(code, handle_error)

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if _hidden_from_viewer(error):
            return handle_error(NotFound())
        message = _l("The form expired or was sent from elsewhere. Please go back, reload and try again.")
        return render_template("error.html", code=400, message=message), 400

    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    def database_unavailable(error):
        # Unreachable, restarting, or (SQLite) locked past busy_timeout: the request may
        # simply be sent again. pool_pre_ping replaces dead connections once it is back.
        app.logger.warning("database unavailable for %s %s: %s", request.method, request.path, error)
        _discard_session()
        return fault_page(503)

    for error_class in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(error_class, database_unavailable)

    @app.errorhandler(500)
    def internal_error(error):
        _discard_session()
        return fault_page(500)

    @app.context_processor
    def inject_globals():
        from organizer.settings.services import get_organization

        return {"organization": get_organization(), "ui_languages": app.config["LANGUAGES"]}

    # Globals (not context) so that imported macros see them too.
    from organizer.forms import field_row
    from organizer.people.services import format_phone

    app.jinja_env.globals.update(
        url_with=url_with, format_phone=format_phone, get_locale=get_locale, areas=PAGE_HOOK_AREAS,
        area_templates=area_templates, option_tags=option_tags, nav_menu=nav_menu, field_row=field_row,
    )
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["dateformat"] = day_format  # Flask-Babel's filter, a day's text kept
    app.jinja_env.filters["format_decimal"] = format_decimal  # 2.5 in English, 2,5 in Spanish

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("HSTS_SECONDS"):
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains"
            )
        if request.endpoint != "static":
            # Pages and exports carry people's names, phones and notes: no browser or proxy
            # keeps a copy (the back button after logout shows nothing). Static files may be cached.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.teardown_request
    def rollback_on_error(exc):
        # One commit per request: anything a failed request left half-written is discarded.
        if exc is not None:
            from organizer.extensions import db

            db.session.rollback()
