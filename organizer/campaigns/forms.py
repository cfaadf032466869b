"""Forms for campaigns, targets, positions and relationships."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from organizer.campaigns.models import (
    DIRECTED_TIES,
    CampaignStatus,
    Position,
    RelationshipKind,
    TieKind,
)
from organizer.forms import optional_int

STATUS_LABELS = {
    CampaignStatus.RESEARCH: _l("Research"),
    CampaignStatus.ACTIVE: _l("Active"),
    CampaignStatus.WON: _l("Won"),
    CampaignStatus.LOST: _l("Lost"),
    CampaignStatus.PAUSED: _l("Paused"),
}

POSITION_LABELS = {
    Position.CHAMPION: _l("Champion"),
    Position.ALLY: _l("Ally"),
    Position.UNDECIDED: _l("Undecided"),
    Position.OPPONENT: _l("Opponent"),
    Position.HOSTILE: _l("Hostile"),
}

RELATIONSHIP_LABELS = {
    RelationshipKind.CONSTITUENT: _l("Constituent"),
    RelationshipKind.CONGREGANT: _l("Congregant"),
    RelationshipKind.ACQUAINTANCE: _l("Personal acquaintance"),
    RelationshipKind.WORKED_WITH: _l("Worked with"),
    RelationshipKind.OTHER: _l("Other"),
}

#: A relationship between targets, as the legend and the table name it.
TIE_LABELS = {
    TieKind.DONOR: _l("Donor"),
    TieKind.APPOINTED: _l("Appointee"),
    TieKind.EMPLOYER: _l("Employer"),
    TieKind.MENTOR: _l("Mentor"),
    TieKind.FAMILY: _l("Family"),
    TieKind.ALLY: _l("Ally"),
    TieKind.BUSINESS_PARTNER: _l("Business partner"),
    TieKind.RIVAL: _l("Political rival"),
    TieKind.OTHER: _l("Other"),
}

#: The same, read as a sentence from the first target: (forward, backward). "A donates to B";
#: read from B, "B receives donations from A". Kinds that read the same both ways repeat it.
TIE_PHRASES = {
    TieKind.DONOR: (_l("donates to"), _l("receives donations from")),
    TieKind.APPOINTED: (_l("appointed"), _l("was appointed by")),
    TieKind.EMPLOYER: (_l("employs"), _l("works for")),
    TieKind.MENTOR: (_l("mentors"), _l("was mentored by")),
    TieKind.FAMILY: (_l("is family of"), _l("is family of")),
    TieKind.ALLY: (_l("is an ally of"), _l("is an ally of")),
    TieKind.BUSINESS_PARTNER: (_l("is a business partner of"), _l("is a business partner of")),
    TieKind.RIVAL: (_l("is a political rival of"), _l("is a political rival of")),
    TieKind.OTHER: (_l("is connected to"), _l("is connected to")),
}

STRENGTH_LABELS = {1: _l("Weak"), 2: _l("Moderate"), 3: _l("Strong")}

#: The kind choices of the form, each a sentence from the target whose page it is; a directed
#: kind twice, the second (value ending in ``REVERSED``) the other way round.
REVERSED = "_by"
TIE_CHOICES = [(k.value, TIE_PHRASES[k][0]) for k in TieKind] + [
    (k.value + REVERSED, TIE_PHRASES[k][1]) for k in TieKind if k in DIRECTED_TIES]

INFLUENCE_CHOICES = [(i, str(i)) for i in range(1, 6)]


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    issue = StringField(_l("Issue"), validators=[Optional(), Length(max=160)])
    goal = TextAreaField(_l("Goal"), validators=[Optional(), Length(max=5000)],
                         description=_l("What winning looks like, in one or two sentences."))
    status = SelectField(_l("Status"), choices=[(s.value, label) for s, label in STATUS_LABELS.items()],
                         default=CampaignStatus.RESEARCH.value)
    starts_on = DateField(_l("Starts"), validators=[Optional()])
    ends_on = DateField(_l("Ends"), validators=[Optional()])
    lead_organizer_id = SelectField(_l("Lead organizer"), coerce=optional_int, validators=[Optional()])
    institution_ids = SelectMultipleField(_l("Institutions involved"), coerce=int, validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The campaign cannot end before it starts."))


class TargetForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=160)],
                        description=_l("For example: Alderperson, Commissioner, Chair"))
    body = StringField(_l("Body"), validators=[Optional(), Length(max=160)],
                       description=_l("For example: City Council, District 3"))
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=255)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])


class MapTargetForm(FlaskForm):
    """Put a target on a campaign's map: an existing one, or a new one described here."""

    target_id = SelectField(_l("Target"), coerce=optional_int, validators=[Optional()])
    # No Optional(): it would stop the chain before validate_name, letting an empty form through.
    name = StringField(_l("Or a new target: name"), validators=[Length(max=160)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=160)])
    body = StringField(_l("Body"), validators=[Optional(), Length(max=160)])
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=255)])
    position = SelectField(_l("Position"), choices=[(p.value, label) for p, label in POSITION_LABELS.items()],
                           default=Position.UNDECIDED.value)
    influence = SelectField(_l("Influence (1-5)"), coerce=int, choices=INFLUENCE_CHOICES, default=3)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def validate_name(self, field):
        if not self.target_id.data and not (field.data or "").strip():
            raise ValidationError(_l("Choose a target or name a new one."))


class PositionForm(FlaskForm):
    position = SelectField(_l("Position"), choices=[(p.value, label) for p, label in POSITION_LABELS.items()])
    influence = SelectField(_l("Influence (1-5)"), coerce=int, choices=INFLUENCE_CHOICES)
    note = StringField(_l("What happened"), validators=[Optional(), Length(max=2000)])


class RelationshipForm(FlaskForm):
    """A relationship with a target: ``person_id`` comes from a search result, or an institution is chosen."""

    person_id = HiddenField()
    institution_id = SelectField(_l("Institution"), coerce=optional_int, validators=[Optional()])
    kind = SelectField(_l("Relationship"), choices=[(k.value, label) for k, label in RELATIONSHIP_LABELS.items()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=255)])

    def validate_person_id(self, field):
        if field.data and not str(field.data).isdigit():
            raise ValidationError(_l("Choose a person from the search."))
        if not field.data and not self.institution_id.data:
            raise ValidationError(_l("Choose a person or an institution."))


class TieForm(FlaskForm):
    """A relationship between this target and another: "<this target> [donates to] [other target]"."""

    # Ids of their own: the target's page shows this form below the relationship form, whose
    # fields have the same names, and a label finds its field by id.
    kind = SelectField(_l("Relationship"), choices=TIE_CHOICES, id="tie-kind")
    other_target_id = SelectField(_l("Other target"), coerce=optional_int, validators=[DataRequired()])
    strength = SelectField(_l("Strength"), coerce=int, choices=list(STRENGTH_LABELS.items()), default=2)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=255)], id="tie-note")

    @property
    def tie_kind(self) -> TieKind:
        return TieKind(self.kind.data.removesuffix(REVERSED))

    @property
    def outgoing(self) -> bool:
        """Whether the relationship goes from this target to the other ("appointed", not "was appointed by")."""
        return not self.kind.data.endswith(REVERSED)
