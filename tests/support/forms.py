"""Read a page's forms as a browser submits them (stdlib ``html.parser``), and dump the database.

``forms_on(html)`` finds every ``<form method="post">`` with the fields a browser would send
when the user presses its (first) submit button without touching anything: text inputs and
hidden inputs with their values, checked checkboxes and radios, each select's selected option
(the first option when none is marked), textareas, and the pressed button's name and value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import select


@dataclass
class BrowserForm:
    action: str | None
    fields: list[tuple[str, str]] = field(default_factory=list)
    button: tuple[str, str] | None = None

    def payload(self) -> list[tuple[str, str]]:
        return self.fields + ([self.button] if self.button else [])


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[BrowserForm] = []
        self._form: BrowserForm | None = None
        self._select: dict[str, Any] | None = None
        self._option: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None
        self._button_seen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = BrowserForm(action=a.get("action"))
                self._button_seen = False
            return
        if self._form is None or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if name and "checked" in a:
                    self._form.fields.append((name, a.get("value", "on")))
            elif kind == "submit":
                if not self._button_seen:
                    self._button_seen = True
                    if name:
                        self._form.button = (name, a.get("value", ""))
            elif kind not in ("button", "reset", "image", "file") and name:
                self._form.fields.append((name, a.get("value", "")))
        elif tag == "button":
            if a.get("type", "submit").lower() == "submit" and not self._button_seen:
                self._button_seen = True
                if name:
                    self._form.button = (name, a.get("value", ""))
        elif tag == "select":
            self._select = {"name": name, "options": [], "selected": [], "multiple": "multiple" in a}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "text": ""}

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._option is not None:
            self._close_option()
        elif tag == "select" and self._select is not None:
            self._close_option()
            select_ = self._select
            self._select = None
            if self._form is not None and select_["name"]:
                chosen = select_["selected"] or ([] if select_["multiple"] else select_["options"][:1])
                self._form.fields.extend((select_["name"], value) for value in chosen)
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"]
            # Browsers drop one newline right after <textarea>.
            if text.startswith("\r\n"):
                text = text[2:]
            elif text.startswith("\n"):
                text = text[1:]
            if self._form is not None:
                self._form.fields.append((self._textarea["name"], text))
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None

    def _close_option(self) -> None:
        if self._option is None or self._select is None:
            return
        option = self._option
        self._option = None
        value = option["value"] if option["value"] is not None else option["text"].strip()
        self._select["options"].append(value)
        if option["selected"]:
            self._select["selected"].append(value)


def forms_on(html: str) -> list[BrowserForm]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def dump_database(skip: set[str]) -> dict[str, list[tuple]]:
    """Every row of every table but those in ``skip``, in primary-key order (inside an app context)."""
    import organizer.models  # noqa: F401
    from organizer.extensions import db

    dump: dict[str, list[tuple]] = {}
    for table in db.metadata.sorted_tables:
        if table.name in skip:
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(select(table).order_by(*order)).all()
        dump[table.name] = [tuple(row) for row in rows]
    db.session.rollback()
    return dump
