"""Forms for actions, commitments, RSVPs, check-in at the door and the public sign-up page."""

from __future__ import annotations

import functools
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from organizer.actions.models import ANSWERS, ActionType, RsvpSource, RsvpStatus
from organizer.forms import EmailAddress, PhoneField, PickerSelect, RecordIdField, optional_int
from organizer.people.forms import PhoneChoiceMixin

TYPE_LABELS = {
    ActionType.HEARING: _l("Hearing"),
    ActionType.ACCOUNTABILITY_SESSION: _l("Accountability session"),
    ActionType.PUBLIC_MEETING: _l("Public meeting"),
    ActionType.RALLY: _l("Rally"),
    ActionType.HOUSE_MEETING: _l("House meeting"),
    ActionType.RESEARCH_MEETING: _l("Research meeting"),
    ActionType.TRAINING: _l("Training"),
}

RSVP_LABELS = {
    RsvpStatus.YES: _l("Yes"),
    RsvpStatus.MAYBE: _l("Maybe"),
    RsvpStatus.NO: _l("No"),
    RsvpStatus.PENDING: _l("Sign-up to confirm"),
}

SOURCE_LABELS = {
    RsvpSource.ORGANIZER: _l("Organizer"),
    RsvpSource.LEADER: _l("Leader"),
    RsvpSource.SIGNUP: _l("Sign-up form"),
    RsvpSource.SMS: _l("Text reply"),
    RsvpSource.WALK_IN: _l("Walk-in"),
}


@functools.cache  # reading the zone database walks the tzdata files: once per process
def timezone_choices() -> list[tuple[str, str]]:
    """IANA zone names people would pick (regions, not the legacy aliases), sorted."""
    regions = ("America/", "Pacific/", "Europe/", "Asia/", "Africa/", "Australia/", "Atlantic/", "Indian/")
    return [(z, z.replace("_", " ")) for z in sorted(available_timezones()) if z.startswith(regions)]


class ActionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(_l("Type"), choices=[(t.value, label) for t, label in TYPE_LABELS.items()])
    campaign_id = SelectField(_l("Campaign"), coerce=optional_int, validators=[Optional()])
    prepares_for_id = SelectField(
        _l("Prep meeting for"), coerce=optional_int, validators=[Optional()],
        description=_l("A turnout, research or planning meeting held to build a bigger action."),
    )
    starts_local = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    ends_local = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    timezone = SelectField(_l("Time zone"), validators=[DataRequired()])
    location = StringField(_l("Place"), validators=[Optional(), Length(max=255)])
    turnout_goal = IntegerField(_l("Turnout goal"), validators=[Optional(), NumberRange(min=0, max=1_000_000)],
                                default=0)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])

    def validate_ends_local(self, field):
        if field.data and self.starts_local.data and field.data <= self.starts_local.data:
            raise ValidationError(_l("The action must end after it starts."))


class InstitutionCommitmentForm(FlaskForm):
    # Starts on an empty choice: a commitment saved without choosing is refused, not put down to
    # whichever institution comes first by name.
    institution_id = SelectField(_l("Institution"), coerce=optional_int, widget=PickerSelect(),
                                 validators=[DataRequired(_l("Choose an institution."))])
    # Ids of their own: the action page shows this form beside the leader's, whose fields have
    # the same names, and a label finds its field by id.
    number = IntegerField(_l("Will bring"), validators=[DataRequired(), NumberRange(min=1, max=100_000)],
                          id="institution-number")
    committed_by_name = StringField(_l("Committed by"), validators=[Optional(), Length(max=160)],
                                    description=_l("Who made the commitment for the institution."))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=255)], id="institution-note")


class LeaderCommitmentForm(FlaskForm):
    number = IntegerField(_l("I will bring"), validators=[DataRequired(), NumberRange(min=0, max=10_000)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=255)])


class RsvpForm(FlaskForm):
    person_id = RecordIdField(validators=[DataRequired()])
    status = SelectField(_l("Answer"), choices=[(s.value, RSVP_LABELS[s]) for s in ANSWERS],
                         default=RsvpStatus.YES.value)


class CheckInForm(FlaskForm):
    person_id = RecordIdField(validators=[DataRequired()])


class WalkInForm(PhoneChoiceMixin, FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=80)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=80)])
    phone = PhoneField(_l("Mobile phone"), validators=[Optional(), Length(max=40)])
    institution_id = SelectField(_l("Institution"), coerce=optional_int, validators=[Optional()])


class SignupForm(PhoneChoiceMixin, FlaskForm):
    """The public form. ``website`` is a honeypot: hidden from people, filled in by bots."""

    # The person's own name, number and email: the browser may fill them in.
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=80)],
                             render_kw={"autocomplete": "given-name"})
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=80)],
                            render_kw={"autocomplete": "family-name"})
    phone = PhoneField(_l("Mobile phone"), validators=[Optional(), Length(max=40)], own=True)
    email = EmailField(_l("Email"), validators=[Optional(), EmailAddress(), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    sms_consent = BooleanField(_l("Text me reminders and updates about this action and our work. "
                                  "Message and data rates may apply; reply STOP to stop."))
    website = StringField(_l("Leave this field empty"), validators=[Optional(), Length(max=200)])

    def validate(self, extra_validators=None) -> bool:
        # Not a ``validate_phone``: the field's Optional() would skip it when the phone is blank.
        valid = super().validate(extra_validators)
        if not (self.phone.data or "").strip() and not (self.email.data or "").strip():
            self.phone.errors = [*self.phone.errors, _l("Give us a phone number or an email address.")]
            return False
        return valid
