"""Forms for texting: compose, launch, test send, thread replies and assignments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import AnyOf, DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from organizer.forms import PhoneField, RecordIdField, optional_int
from organizer.people.forms import LANGUAGE_CHOICES, PhoneChoiceMixin
from organizer.sms.encoding import MAX_BODY_CHARS


class ComposeForm(FlaskForm):
    """A mobilization draft: its text and its audience. The view fills the choices."""

    title = StringField(_l("Name (for you, not sent)"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(
        _l("Text"),
        validators=[DataRequired(), Length(max=MAX_BODY_CHARS)],
        description=_l("Merge fields: {first_name}; for an action also {action_title}, {action_time}, "
                       "{action_place}, {rsvp_link}."),
    )
    text_language = SelectField(
        _l("The text is in"),
        description=_l("The RSVP prompt and the action's time are written in this language."),
    )
    action_id = SelectField(_l("For the action"), coerce=optional_int, validators=[Optional()])
    rsvp_prompt = BooleanField(_l("Ask them to reply YES to RSVP"))
    campaign_id = SelectField(_l("For the campaign"), coerce=optional_int, validators=[Optional()])
    institution_id = SelectField(_l("Institution"), coerce=optional_int, validators=[Optional()])
    neighborhood_id = SelectField(_l("Neighborhood"), coerce=optional_int, validators=[Optional()])
    tag_id = SelectField(_l("Tag"), coerce=optional_int, validators=[Optional()])
    stage_id = SelectField(_l("Pipeline stage"), coerce=optional_int, validators=[Optional()])
    owner_id = SelectField(_l("Someone's list"), coerce=optional_int, validators=[Optional()])
    language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES, validators=[Optional()])
    rsvp_status = SelectField(
        _l("RSVP to the action"),
        choices=[("", "—"), ("yes", _l("Said yes")), ("maybe", _l("Said maybe")), ("no", _l("Said no")),
                 ("none", _l("Has not answered"))],
        validators=[Optional()],
    )
    # A turnout list of a past action (set from the turnout page, kept as it is on every edit).
    turnout = HiddenField(validators=[Optional(), AnyOf(("no_show", "first_timer", "attended"))])
    turnout_action_id = RecordIdField(widget=HiddenInput(), validators=[Optional()])


class PreviewForm(ComposeForm):
    """The compose fields read from a GET for the live preview (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False


class LaunchForm(FlaskForm):
    """Launch now, or at a time in the federation's time zone."""

    schedule_at = DateTimeLocalField(_l("Send later, at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])


class TestSendForm(FlaskForm):
    """Where a test goes: one of the user's own numbers (the view fills the choices), never
    a number typed here."""

    test_phone = SelectField(_l("Send the test to"), validators=[DataRequired()])


class VerifyNumberForm(PhoneChoiceMixin, FlaskForm):
    """An admin verifies a number for a user's test texts. The view fills the users."""

    user_id = SelectField(_l("User"), coerce=optional_int, validators=[DataRequired()])
    phone = PhoneField(_l("Mobile phone"), validators=[DataRequired(), Length(max=40)])


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Reply"), validators=[DataRequired(), Length(max=MAX_BODY_CHARS)])


class AssignForm(FlaskForm):
    assigned_to_id = SelectField(_l("Assigned to"), coerce=optional_int, validators=[Optional()])


class MatchForm(FlaskForm):
    person_id = RecordIdField(validators=[DataRequired()])


class P2PForm(FlaskForm):
    person_id = HiddenField(validators=[DataRequired()])
    skip = BooleanField()


class ClearFlagForm(FlaskForm):
    """Clear the flag on a number (the number is named in the form)."""

    phone = HiddenField(validators=[DataRequired()])


class StateRuleForm(FlaskForm):
    """A US state's own window for texts (local time)."""

    state = SelectField(_l("State"), validators=[DataRequired()])
    allowed_from = TimeField(_l("Texts allowed from"), validators=[DataRequired()])
    allowed_until = TimeField(_l("until"), validators=[DataRequired()])
    source = StringField(_l("Law or source"), validators=[Optional(), Length(max=255)])


class RemoveStateRuleForm(FlaskForm):
    """Remove a state's window (the state is named in the form)."""

    state = HiddenField(validators=[DataRequired()])


class ReplyRsvpForm(FlaskForm):
    """Record yes, no or maybe from a reply: the button pressed names the answer, the select
    the action (the one the person was last texted about comes preselected)."""

    action_id = SelectField(_l("For"), coerce=int, validators=[DataRequired()])
    status = SelectField(choices=[("yes", ""), ("no", ""), ("maybe", "")], validators=[DataRequired()])
