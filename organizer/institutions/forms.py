"""Forms for member institutions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from organizer.forms import optional_int
from organizer.institutions.models import InstitutionStatus, InstitutionType

INSTITUTION_TYPE_LABELS = {
    InstitutionType.CONGREGATION: _l("Congregation"),
    InstitutionType.SCHOOL: _l("School"),
    InstitutionType.UNION: _l("Union"),
    InstitutionType.TENANT_ASSOCIATION: _l("Tenant association"),
    InstitutionType.NONPROFIT: _l("Nonprofit"),
    InstitutionType.OTHER: _l("Other"),
}

INSTITUTION_STATUS_LABELS = {
    InstitutionStatus.PROSPECT: _l("Prospect"),
    InstitutionStatus.MEMBER: _l("Member"),
    InstitutionStatus.DUES_PAYING: _l("Dues-paying member"),
    InstitutionStatus.INACTIVE: _l("Inactive"),
}


class InstitutionForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    type = SelectField(_l("Type"), choices=[(t.value, label) for t, label in INSTITUTION_TYPE_LABELS.items()])
    faith_tradition = StringField(
        _l("Faith tradition"), validators=[Optional(), Length(max=80)],
        description=_l("For congregations, e.g. Catholic, AME, Reform Jewish, Muslim."),
    )
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    neighborhood_id = SelectField(_l("Neighborhood"), coerce=optional_int, validators=[Optional()])
    membership_size = IntegerField(
        _l("Approximate membership"), validators=[Optional(), NumberRange(min=0, max=1_000_000)]
    )
    monthly_one_to_one_goal = IntegerField(
        _l("One-to-ones a month (goal)"), validators=[Optional(), NumberRange(min=0, max=100_000)],
        description=_l("What its leaders commit to hold with its members each month."),
    )
    status = SelectField(
        _l("Status in the federation"),
        choices=[(s.value, label) for s, label in INSTITUTION_STATUS_LABELS.items()],
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
