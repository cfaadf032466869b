"""Organization settings and managed-list forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from organizer.people.phones import unknown_regions


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
    member_phone_regions = StringField(
        _l("Countries members commonly come from"),
        validators=[Optional(), Length(max=120)],
        description=_l("Two-letter codes besides the default region, e.g. MX SV GT. A number typed without "
                       "a country code that is valid in more than one of these countries is asked about."),
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

    def validate_member_phone_regions(self, field):
        unknown = unknown_regions(field.data or "")
        if unknown:
            raise ValidationError(_l("Unknown country code: %(codes)s. Use two-letter codes such as MX, SV, GT.",
                                     codes=", ".join(unknown)))


class ListEntryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
