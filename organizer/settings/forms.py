"""Organization settings and managed-list forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Regexp


class OrganizationForm(FlaskForm):
    name = StringField(_l("Organization name"), validators=[DataRequired(), Length(max=120)])
    timezone = StringField(
        _l("Time zone"), validators=[DataRequired(), Length(max=64)],
        description=_l("An IANA time zone name, e.g. America/Chicago."),
    )
    default_phone_region = StringField(
        _l("Default phone region"),
        validators=[DataRequired(), Regexp(r"^[A-Za-z]{2}$", message=_l("Two letters, e.g. US."))],
        description=_l("Numbers typed without a country code are read as this country's."),
    )
    going_cold_days = IntegerField(
        _l("Days without a one-to-one before someone is 'going cold'"),
        validators=[DataRequired(), NumberRange(min=7, max=730)], default=90,
    )
    sms_help_text = TextAreaField(
        _l("Reply to HELP texts"), validators=[Length(max=320)],
        description=_l("Sent when someone texts HELP or INFO."),
    )
    text_staff_rsvp_confirmations = BooleanField(
        _l("Text a confirmation when staff record an RSVP yes"),
        description=_l("With the action's time, place and a calendar link, to people who agreed to texts."),
    )


class ListEntryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
