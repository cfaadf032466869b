"""Form pieces shared by every area."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import SelectMultipleField, widgets
from wtforms.validators import ValidationError


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for lone buttons (archive, restore, mark done)."""


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PickerSelect(widgets.Select):
    """A select of many options (every active institution), drawn exactly as WTForms draws it
    but without building each plain option's attributes one by one: WTForms' own way spends
    milliseconds of every page view on a couple of hundred options."""

    @classmethod
    def render_option(cls, value, label, selected, **kwargs):
        if selected or kwargs or isinstance(value, bool):
            return super().render_option(value, label, selected, **kwargs)
        return f'<option value="{escape(value)}">{escape(label)}</option>'


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
