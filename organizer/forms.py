"""Form pieces shared by every area."""

from __future__ import annotations

import re
from functools import lru_cache

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import IntegerField, SelectMultipleField, TelField, widgets
from wtforms.validators import NumberRange, ValidationError

from organizer.web import MAX_DB_INT


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for lone buttons (archive, restore, mark done)."""


class PhoneField(TelField):
    """A phone number typed in: ``type="tel"``, so a phone shows its number pad. Someone else's
    number (a walk-in's at the door, a person's on their record) is not filled in from the
    browser's memory of its owner's own; ``own=True`` (the public sign-up) asks for it."""

    def __init__(self, label=None, validators=None, *, own: bool = False, **kwargs) -> None:
        kwargs.setdefault("render_kw", {"autocomplete": "tel" if own else "off"})
        super().__init__(label, validators, **kwargs)


class RecordIdField(IntegerField):
    """The id of a row, posted by a page's script or hidden field: a whole number a query can
    carry (1 to ``MAX_DB_INT``). Anything beyond fails validation like any bad value, where it
    used to reach the database and overflow there (a server error)."""

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        super().__init__(label, [*(validators or []), NumberRange(min=1, max=MAX_DB_INT)], **kwargs)


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PlainChoices(list):
    """Choices that are plain ``(value, text)`` pairs by the way they were made (an id and a
    name read from the database, each a text and a value other than a bool): a ``PickerSelect``
    draws them without checking each pair (a couple of hundred checks on every page with the
    institution picker). Made only where that holds; other choices are checked as before."""


class PickerSelect(widgets.Select):
    """A select of many options (every active institution, every active user), drawn exactly as
    WTForms draws it, but cheaply: a plain option without building its attributes one by one
    (WTForms' own way spent milliseconds of every page view on a couple of hundred options),
    and the options of the same choices with the same value chosen drawn once per process (see
    ``_picker_options``). Choices that are not plain ``(value, text)`` pairs are drawn by WTForms."""

    def __call__(self, field, **kwargs):
        choices = field.choices
        if (self.multiple or field.has_groups() or not isinstance(choices, list | tuple)
                or (type(choices) is not PlainChoices  # checked when they were made
                    and not all(isinstance(c, tuple) and len(c) == 2 and isinstance(c[1], str)
                                and not isinstance(c[0], bool) for c in choices))  # True == 1 as a key
                or isinstance(field.data, bool)):
            return super().__call__(field, **kwargs)
        try:
            options = _picker_options(tuple(choices), field.coerce, field.data)
        except TypeError:  # a value that cannot be a key (a list...): drawn as WTForms draws it
            return super().__call__(field, **kwargs)
        # The <select> tag as WTForms writes it.
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        return Markup(f"<select {widgets.html_params(name=field.name, **kwargs)}>{options}</select>")

    @classmethod
    def render_option(cls, value, label, selected, **kwargs):
        if selected or kwargs or isinstance(value, bool):
            return super().render_option(value, label, selected, **kwargs)
        return f'<option value="{escape(value)}">{escape(label)}</option>'


# The same pickers (every active institution, every active user) are drawn on page after page;
# their options depend only on the choices, the coercion and the value chosen, so a process
# keeps the last few drawn. The key is the choices themselves: hashing a few hundred pairs
# takes microseconds, drawing them took milliseconds, and a list that changed is another key.
@lru_cache(maxsize=64)
def _picker_options(choices: tuple[tuple[object, str], ...], coerce: object, data: object) -> str:
    return "".join(PickerSelect.render_option(value, label, coerce(value) == data) for value, label in choices)


def optional_int(value: object) -> int | None:
    """Coerce a select's value to an int, with the empty choice meaning ``None``.

    :raise ValueError: for a number no INTEGER column holds (the select then reports an invalid
        choice instead of the database failing on it).
    """
    if value in (None, "", "None"):
        return None
    from organizer.web import db_int

    return db_int(str(value))


class EmailAddress:
    """A plausible email address: one @, a dot in the domain, no spaces.

    Deliberately lighter than WTForms' ``Email`` (email-validator refuses reserved domains
    such as the demo's ``demo.local``); whether mail arrives is not the form's business.
    """

    pattern = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        from flask_babel import gettext

        if field.data and not self.pattern.match(field.data.strip()):
            raise ValidationError(self.message or gettext("This is not a valid email address."))


def field_row(field, label: bool = True, class_: str = "") -> Markup:
    """One field as a form row (``field`` in ``_macros/forms.html``): its label, the input with
    Bootstrap's classes (``is-invalid`` when it has errors), its errors and its help text; a
    checkbox and a group of checkboxes as Bootstrap's checks; a hidden field alone. Texts are
    escaped as a template escapes them (a lazy label or help text is taken as it is).

    Drawn here rather than by a Jinja macro: a form page draws a dozen rows, and the macro's
    own work (its arguments, tests and filters) cost more than drawing the field (some 50 µs a
    row against 15 µs).
    """
    errors = field.errors
    kind = field.type
    if kind in ("HiddenField", "CSRFTokenField"):
        return field()
    if kind == "BooleanField":
        parts = [f'<div class="form-check mb-3 {escape(class_)}">',
                 field(class_="form-check-input" + (" is-invalid" if errors else "")),
                 field.label(class_="form-check-label")]
        parts += [f'<div class="invalid-feedback d-block">{escape(e)}</div>' for e in errors]
        parts.append("</div>")
    elif kind == "MultiCheckboxField":
        parts = [f'<fieldset class="mb-3 {escape(class_)}"><legend class="form-label fs-6">{escape(field.label.text)}</legend>']
        parts += [f'<div class="form-check">{option(class_="form-check-input")} {option.label(class_="form-check-label")}</div>'
                  for option in field]
        parts += [f'<div class="invalid-feedback d-block">{escape(e)}</div>' for e in errors]
        if field.description:
            parts.append(f'<div class="form-text">{escape(field.description)}</div>')
        parts.append("</fieldset>")
    else:
        parts = [f'<div class="mb-3 {escape(class_)}">']
        # Without a visible label (a one-field form whose heading says what it is for) the field
        # still has one for screen readers and voice control.
        parts.append(field.label(class_="form-label" if label else "visually-hidden"))
        css = "form-select" if kind in ("SelectField", "SelectMultipleField") else "form-control"
        attributes = {"class_": css + (" is-invalid" if errors else "")}
        if field.description:
            attributes["aria-describedby"] = f"{field.id}-help"
        parts.append(field(**attributes))
        parts += [f'<div class="invalid-feedback">{escape(e)}</div>' for e in errors]
        if field.description:
            parts.append(f'<div class="form-text" id="{escape(field.id)}-help">{escape(field.description)}</div>')
        parts.append("</div>")
    return Markup("".join(parts))
