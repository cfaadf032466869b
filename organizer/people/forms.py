"""Forms for people."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from organizer.forms import EmailAddress, MultiCheckboxField, PhoneField, PickerSelect, optional_int
from organizer.institutions.models import MembershipRole
from organizer.people.models import ConsentMethod, RaceEthnicity, SmsConsent
from organizer.people.phones import PhoneReading, PhoneStatus
from organizer.people.services import AmbiguousPhone, PhoneError, chosen_phone

RACE_ETHNICITY_LABELS = {
    RaceEthnicity.AMERICAN_INDIAN: _l("American Indian or Alaska Native"),
    RaceEthnicity.ASIAN: _l("Asian"),
    RaceEthnicity.BLACK: _l("Black or African American"),
    RaceEthnicity.HISPANIC: _l("Hispanic or Latino/a/x"),
    RaceEthnicity.MIDDLE_EASTERN: _l("Middle Eastern or North African"),
    RaceEthnicity.PACIFIC_ISLANDER: _l("Native Hawaiian or Pacific Islander"),
    RaceEthnicity.WHITE: _l("White"),
    RaceEthnicity.OTHER: _l("Another race or ethnicity"),
    RaceEthnicity.PREFER_NOT_TO_SAY: _l("Prefer not to say"),
}

SMS_CONSENT_LABELS = {
    SmsConsent.UNKNOWN: _l("Not asked yet"),
    SmsConsent.OPTED_IN: _l("Agreed to texts"),
    SmsConsent.OPTED_OUT: _l("Opted out of texts"),
}

CONSENT_METHOD_LABELS = {
    ConsentMethod.WEB_FORM: _l("edited on the person's page"),
    ConsentMethod.SIGNUP: _l("public sign-up form"),
    ConsentMethod.SMS_STOP: _l("texted STOP"),
    ConsentMethod.SMS_START: _l("texted START"),
    ConsentMethod.SMS_REVIEW: _l("reply reviewed by an organizer"),
    ConsentMethod.IMPORT: _l("import"),
    ConsentMethod.OTHER: _l("before the history was kept"),
}

LANGUAGE_CHOICES = [
    ("", _l("—")),
    ("en", _l("English")),
    ("es", _l("Spanish")),
    ("vi", _l("Vietnamese")),
    ("zh", _l("Chinese")),
    ("ar", _l("Arabic")),
    ("fr", _l("French")),
    ("ht", _l("Haitian Creole")),
    ("pl", _l("Polish")),
    ("other", _l("Other")),
]

MEMBERSHIP_ROLE_LABELS = {
    MembershipRole.MEMBER: _l("Member"),
    MembershipRole.CLERGY: _l("Clergy"),
    MembershipRole.CORE_TEAM: _l("Core team"),
    MembershipRole.STAFF: _l("Staff"),
}


#: Zones a US federation's people live in (IANA names; texts respect their quiet hours).
TIME_ZONE_CHOICES = [
    ("", "—"),
    ("America/New_York", _l("Eastern")),
    ("America/Chicago", _l("Central")),
    ("America/Denver", _l("Mountain")),
    ("America/Phoenix", _l("Arizona (no daylight saving)")),
    ("America/Boise", _l("Mountain (Idaho)")),
    ("America/Los_Angeles", _l("Pacific")),
    ("America/Anchorage", _l("Alaska")),
    ("America/Adak", _l("Aleutian Islands")),
    ("Pacific/Honolulu", _l("Hawaii")),
    ("America/Puerto_Rico", _l("Puerto Rico and U.S. Virgin Islands")),
    ("Pacific/Guam", _l("Guam and Northern Mariana Islands")),
    ("Pacific/Pago_Pago", _l("American Samoa")),
]


class PhoneChoiceMixin:
    """For a form with a ``phone``: the reading picked when a number typed without a country
    code is valid in several countries (the page shows the choice only then; see
    ``people.services.chosen_phone``)."""

    # Not a HiddenField: ``hidden_tag()`` would render an empty one beside the radios of the
    # ``phone_choice`` macro, and the first value sent would win.
    phone_choice = StringField(validators=[Optional(), Length(max=20)])

    def read_phone(self, region: str) -> PhoneReading | None:
        """Check ``phone`` as every phone form does. ``None`` when it reads as one number (then
        ``phone.data`` holds it in E.164 if the user picked a reading, so the services read it
        as written); the reading to offer when it could be several (nothing may be saved yet);
        an invalid number gets an error saying which country code to add. Validate first."""
        phone_field = self.phone  # type: ignore[attr-defined]
        try:
            phone = chosen_phone(phone_field.data, self.phone_choice.data, region)
        except AmbiguousPhone as ambiguous:
            phone_field.errors = [*phone_field.errors, str(ambiguous)]
            return ambiguous.reading
        except PhoneError as error:
            phone_field.errors = [*phone_field.errors, str(error)]
            return PhoneReading(raw=phone_field.data or "", status=PhoneStatus.INVALID, hint=str(error))
        if phone and phone != (phone_field.data or "").strip():
            phone_field.data = phone
        return None


class PersonForm(PhoneChoiceMixin, FlaskForm):
    """Create or edit a person. The view drops the fields the user may not set."""

    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=80)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=80)])
    preferred_name = StringField(_l("Goes by"), validators=[Optional(), Length(max=80)])
    phone = PhoneField(_l("Mobile phone"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("Email"), validators=[Optional(), EmailAddress(), Length(max=254)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    postal_code = StringField(_l("ZIP / postal code"), validators=[Optional(), Length(max=16)])
    other_phones = StringField(
        _l("Other phones"), validators=[Optional(), Length(max=255)],
        description=_l("Home or work numbers, separated by “;”. They are kept, never texted."),
    )
    neighborhood_id = SelectField(_l("Neighborhood"), coerce=optional_int, validators=[Optional()])
    preferred_language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES, validators=[Optional()])
    timezone = SelectField(
        _l("Time zone"),
        choices=TIME_ZONE_CHOICES,
        validators=[Optional()],
        description=_l("Where they live, for texts' quiet hours. Empty: guessed from the phone's area code."),
    )
    tag_ids = MultiCheckboxField(_l("Tags"), coerce=int, validators=[Optional()])  # checkboxes: no ctrl-click on phones
    sms_consent = SelectField(
        _l("Text messages"),
        choices=[(c.value, label) for c, label in SMS_CONSENT_LABELS.items()],
        default=SmsConsent.UNKNOWN.value,
    )
    owner_id = SelectField(_l("Relationship held by"), coerce=optional_int, validators=[Optional()])
    race_ethnicities = MultiCheckboxField(
        _l("Race/ethnicity (self-identified)"),
        choices=[(r.value, label) for r, label in RACE_ETHNICITY_LABELS.items()],
        validators=[Optional()],
    )
    notes = TextAreaField(_l("Organizer notes"), validators=[Optional(), Length(max=20000)])
    confirm_duplicate = BooleanField(_l("Save anyway: this is a different person"))

    def validate_race_ethnicities(self, field):
        if RaceEthnicity.PREFER_NOT_TO_SAY.value in field.data and len(field.data) > 1:
            raise ValidationError(_l("'Prefer not to say' cannot be combined with other answers."))


class AssignForm(FlaskForm):
    """An organizer gives selected people to a leader."""

    person_ids = SelectMultipleField(coerce=int, validate_choice=False)
    owner_id = SelectField(_l("Assign to"), coerce=optional_int, widget=PickerSelect())


class MembershipForm(FlaskForm):
    """Add a membership, or change the role of one (the person page has one small form for each)."""

    # The add form starts on an empty choice, so pressing "Add" untouched changes nobody's role.
    institution_id = SelectField(_l("Institution"), coerce=optional_int, widget=PickerSelect(),
                                 validators=[DataRequired(_l("Choose an institution."))])
    role = SelectField(
        _l("Role"),
        choices=[(r.value, label) for r, label in MEMBERSHIP_ROLE_LABELS.items()],
        default=MembershipRole.MEMBER.value,
        widget=PickerSelect(),
    )


class ImportForm(FlaskForm):
    """Upload a CSV of people; staff also choose who holds the relationships (the view drops it for leaders)."""

    file = FileField(_l("CSV file"), validators=[
        FileRequired(_l("Choose a CSV file.")),
        FileAllowed(["csv"], _l("Only .csv files can be imported. In your spreadsheet, choose File → Save as → CSV.")),
    ])
    owner_id = SelectField(_l("Relationship held by"), coerce=optional_int, validators=[Optional()])


class ConfirmImportForm(FlaskForm):
    """Confirm the previewed upload; the token names the file kept on the server."""

    token = HiddenField(validators=[DataRequired()])


class ImportMappingForm(FlaskForm):
    """Which field each column of the previewed upload fills, or a preset / saved mapping to
    start from (the "layout" button); optionally saved under a name for the next file."""

    upload = HiddenField(validators=[DataRequired()])  # the upload's token (not "token": that is the import button's)
    preset = SelectField(_l("Layout of the file"), validators=[Optional()], validate_choice=False)
    columns = FieldList(SelectField(validate_choice=False))
    save_as = StringField(_l("Save this mapping as"), validators=[Optional(), Length(max=80)])
    use_preset = BooleanField()  # set by the "Use this layout" button


class MergeForm(FlaskForm):
    """Make two records one: for each field that differs, whose value the merged person keeps.
    The radio fields are added per field by ``merge_form`` (organizer.people.views)."""


def merge_form(fields: list[str], defaults: dict[str, str]) -> MergeForm:
    """A ``MergeForm`` with a kept/other choice for each of ``fields``."""
    from wtforms import RadioField

    class _Form(MergeForm):
        pass

    for name in fields:
        setattr(_Form, name, RadioField(choices=[("kept", "kept"), ("other", "other")],
                                        default=defaults.get(name, "kept"), validators=[Optional()]))
    return _Form()
