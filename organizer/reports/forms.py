"""Forms of the reports area: neighborhoods' populations, community indicators, data points, wins, targets."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l, lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.widgets import HiddenInput
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from organizer.forms import RecordIdField


class PopulationForm(FlaskForm):
    neighborhood_id = SelectField(_l("Neighborhood"), coerce=int, validators=[DataRequired()])
    race_ethnicity = SelectField(_l("Race/ethnicity"), validators=[DataRequired()])
    population = IntegerField(_l("Population"), validators=[InputRequired(), NumberRange(min=0)])
    source = StringField(_l("Source"), validators=[Optional(), Length(max=255)])


class PopulationImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[
        FileRequired(_l("Choose a CSV file.")), FileAllowed(["csv", "txt"], _l("Choose a CSV file."))])


class IndicatorForm(FlaskForm):
    name = StringField(_l("Indicator"), validators=[DataRequired(), Length(max=200)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=80)])
    higher_is_better = BooleanField(_l("Higher is better"))
    baseline_on = DateField(_l("Baseline up to"), validators=[Optional()])
    target_value = FloatField(lazy_pgettext("goal", "Target"), validators=[Optional()])
    target_on = DateField(_l("Target date"), validators=[Optional()])


class IndicatorPointForm(FlaskForm):
    indicator_id = RecordIdField(validators=[InputRequired()], widget=HiddenInput())
    observed_on = DateField(_l("Date"), validators=[DataRequired()])
    # InputRequired, not DataRequired: 0 is a real value.
    value = FloatField(_l("Value"), validators=[InputRequired(message=_l("Enter a number."))])
    source = StringField(_l("Source"), validators=[DataRequired(), Length(max=255)])


class WinForm(FlaskForm):
    won_on = DateField(_l("Date"), validators=[DataRequired()])
    description = TextAreaField(_l("What was won"), validators=[DataRequired(), Length(max=2000)])


class MeasureTargetForm(FlaskForm):
    measure = SelectField(_l("Measure"), validators=[DataRequired()])
    baseline = FloatField(_l("Baseline"), validators=[Optional()])
    target = FloatField(lazy_pgettext("goal", "Target"), validators=[Optional()])
