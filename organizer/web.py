"""What every page shares: error pages, template helpers, pagination, safe redirects."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, render_template, request
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l


@dataclass
class Pagination:
    """Page numbers for a list page."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
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

    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        args.pop(key, None)
    return url_for(request.endpoint or "home.index", **(request.view_args or {}), **args)


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """A stored UTC time in the federation's time zone and the user's language."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def local_date(value: datetime | None, fmt: str = "medium") -> str:
    """The calendar day of a stored UTC time in the federation's time zone, in the user's language."""
    if value is None:
        return ""
    return format_date(value, fmt)


# Areas that add to shared pages: base.html, the home page and the person page include
# ``<area>/_nav.html``, ``_nav_admin.html``, ``_home_cards.html``, ``_home_actions.html``,
# ``_person_actions.html``, ``_person_facts.html`` and ``_person_panels.html`` when they exist.
PAGE_HOOK_AREAS = ("relational", "campaigns", "actions", "sms")

# What areas show on the person page, computed by the view before rendering (templates run no
# queries): ``@person_page_part("relational")`` registers ``fn(user, person)``; its result is
# ``parts.relational`` in ``<area>/_person_facts.html`` and ``_person_panels.html``.
_PERSON_PAGE_PARTS: dict[str, Callable[[Any, Any], Any]] = {}


def person_page_part(area: str) -> Callable[[Callable[[Any, Any], Any]], Callable[[Any, Any], Any]]:
    """Register what ``area`` adds to the person page (see ``person_page_parts``)."""

    def register(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        _PERSON_PAGE_PARTS[area] = fn
        return fn

    return register


def person_page_parts(user: Any, person: Any) -> dict[str, Any]:
    """Every area's part of the person page, by area name."""
    return {area: fn(user, person) for area, fn in _PERSON_PAGE_PARTS.items()}


ERROR_TITLES = {
    403: _l("You do not have access to this page."),
    404: _l("This page does not exist, or you do not have access to it."),
    405: _l("That action is not allowed here."),
    413: _l("What you sent is too big. Files to import must be smaller; split the file and try again."),
    429: _l("Too many requests. Please wait a moment and try again."),
}


def init_app(app: Flask) -> None:
    """Error pages, template globals, security headers, and the client address behind a proxy."""
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    def handle_error(error):
        code = getattr(error, "code", 500) or 500
        return render_template("error.html", code=code, message=ERROR_TITLES.get(code, error)), code

    for code in ERROR_TITLES:
        app.register_error_handler(code, handle_error)

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = _l("The form expired or was sent from elsewhere. Please go back, reload and try again.")
        return render_template("error.html", code=400, message=message), 400

    @app.context_processor
    def inject_globals():
        from organizer.settings.services import get_organization

        return {"organization": get_organization(), "ui_languages": app.config["LANGUAGES"]}

    # Globals (not context) so that imported macros see them too.
    from organizer.people.services import format_phone

    app.jinja_env.globals.update(
        url_with=url_with, format_phone=format_phone, get_locale=get_locale, areas=PAGE_HOOK_AREAS
    )
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.teardown_request
    def rollback_on_error(exc):
        # One commit per request: anything a failed request left half-written is discarded.
        if exc is not None:
            from organizer.extensions import db

            db.session.rollback()
