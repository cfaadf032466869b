"""Forms for one-to-ones, follow-ups, stage moves and the admin lists."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from organizer.forms import MultiCheckboxField, PhoneField, PickerSelect, optional_int
from organizer.relational.models import CommitmentKind, CommitmentStatus, MeetingMode

MODE_LABELS = {
    MeetingMode.IN_PERSON: _l("In person"),
    MeetingMode.PHONE: _l("Phone"),
    MeetingMode.VIDEO: _l("Video"),
}

COMMITMENT_LABELS = {
    CommitmentKind.ATTEND_ACTION: _l("Attend an action"),
    CommitmentKind.HOLD_ONE_TO_ONES: _l("Hold one-to-ones"),
    CommitmentKind.HOST_HOUSE_MEETING: _l("Host a house meeting"),
    CommitmentKind.JOIN_TEAM: _l("Join a team"),
    CommitmentKind.OTHER: _l("Other"),
}

COMMITMENT_STATUS_LABELS = {
    CommitmentStatus.OPEN: _l("Not yet known"),
    CommitmentStatus.KEPT: _l("Kept"),
    CommitmentStatus.NOT_KEPT: _l("Not kept"),
}

ASSESSMENT_CHOICES = [
    ("", _l("Not assessed")),
    ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5"),
]

RUBRIC = _l(
    "1 = little sign yet, 5 = strong on all four: has a following; shows energy and anger about an "
    "issue; follows through; is curious about power."
)


class CommitmentRow(Form):
    """One ask and what the person committed to (a sub-form: the parent form carries the CSRF token)."""

    kind = SelectField(
        _l("Commitment"),
        choices=[("", _l("—"))] + [(k.value, label) for k, label in COMMITMENT_LABELS.items()],
        validators=[Optional()],
    )
    quantity = IntegerField(_l("How many"), validators=[Optional(), NumberRange(min=1, max=1000)])
    note = StringField(_l("Details"), validators=[Optional(), Length(max=255)])


class OneToOneForm(FlaskForm):
    """Log a one-to-one. The view fills the choices and drops ``held_by_id`` for leaders."""

    held_by_id = SelectField(_l("Held by"), coerce=optional_int, validators=[Optional()])
    person_id = SelectField(_l("With"), coerce=optional_int, validators=[Optional()], validate_choice=False)
    new_first_name = StringField(_l("First name"), validators=[Optional(), Length(max=80)])
    new_last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=80)])
    new_phone = PhoneField(_l("Mobile phone"), validators=[Optional(), Length(max=40)])
    held_on = DateField(_l("Date"), validators=[DataRequired()])
    duration_minutes = IntegerField(_l("Minutes"), validators=[Optional(), NumberRange(min=1, max=600)],
                                    default=40)
    mode = SelectField(_l("How"), choices=[(m.value, label) for m, label in MODE_LABELS.items()],
                       default=MeetingMode.IN_PERSON.value)
    place = StringField(_l("Where"), validators=[Optional(), Length(max=160)])
    self_interest = TextAreaField(_l("Self-interest, in their words"), validators=[Optional(), Length(max=5000)])
    issue_ids = MultiCheckboxField(_l("Issues raised"), coerce=int, validators=[Optional()])
    story = TextAreaField(_l("Story and notes"), validators=[Optional(), Length(max=20000)])
    assessment = RadioField(_l("Leadership assessment"), choices=ASSESSMENT_CHOICES, default="",
                            validators=[Optional()], description=RUBRIC)
    commitments = FieldList(FormField(CommitmentRow), min_entries=3, max_entries=10)
    next_step = StringField(_l("Next step"), validators=[Optional(), Length(max=500)])
    follow_up_on = DateField(_l("Follow up on"), validators=[Optional()])

    def validate_person_id(self, field):
        if not field.data and not (self.new_first_name.data or "").strip():
            raise ValidationError(_l("Choose who you met, or enter a new person's first name."))


class OneToOneEditForm(OneToOneForm):
    """Correct a logged one-to-one: the log form without the person (who was met never changes)
    and without the commitments (marked kept or not on the one-to-one's page)."""

    person_id = None
    new_first_name = None
    new_last_name = None
    new_phone = None
    commitments = None


class FollowUpRescheduleForm(FlaskForm):
    follow_up_on = DateField(_l("New date"), validators=[DataRequired()])


class CommitmentStatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])

    def validate_status(self, field):
        if field.data not in {s.value for s in CommitmentStatus}:
            raise ValidationError(_l("Unknown status."))


class MoveForm(FlaskForm):
    """Move a person to a stage (the board's no-JavaScript form, and the person page)."""

    person_id = HiddenField(validators=[DataRequired()])
    stage_id = SelectField(_l("Stage"), coerce=int, widget=PickerSelect())
    reason = StringField(_l("Why"), validators=[Optional(), Length(max=500)])
    next = HiddenField()


class StageForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    position = IntegerField(_l("Order"), validators=[DataRequired(), NumberRange(min=1, max=100)])
    description = TextAreaField(_l("What it takes"), validators=[Optional(), Length(max=2000)])
    suggest_for = BooleanField(_l("Suggest people for this stage from their one-to-ones"))


class IssueForm(FlaskForm):
    name = StringField(_l("Issue"), validators=[DataRequired(), Length(max=80)])
