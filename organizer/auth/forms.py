"""Login, account and user-administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from organizer.auth.models import Role
from organizer.forms import EmailAddress

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.ORGANIZER: _l("Organizer"),
    Role.LEADER: _l("Leader"),
}


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me logged in"))


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), validators=[DataRequired()])


class UserForm(FlaskForm):
    """An admin creates or changes an account."""

    email = EmailField(_l("Email"), validators=[DataRequired(), EmailAddress(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(
        _l("Role"), choices=[(r.value, label) for r, label in ROLE_LABELS.items()], default=Role.LEADER.value
    )
    # Chosen by name in the page (person-picker.js fills it); without JavaScript the name typed
    # in "person_q" is looked up when the form is saved.
    person_id = HiddenField(validators=[Optional()])
    monthly_one_to_one_goal = IntegerField(
        _l("One-to-ones goal per month"), validators=[Optional(), NumberRange(min=0, max=500)]
    )
    password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(min=10, message=_l("Use at least 10 characters."))],
        description=_l("Leave empty to keep the current password."),
    )
    active = BooleanField(_l("Active"), default=True)


class CodeForm(FlaskForm):
    """The second step of signing in: a code from the authenticator app, or a recovery code."""

    code = StringField(
        _l("Code"), validators=[DataRequired(), Length(max=20)],
        description=_l("The 6-digit code from your authenticator app, or one of your recovery codes."),
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )


class EnrollForm(FlaskForm):
    """Confirm the authenticator app by typing the code it shows."""

    code = StringField(
        _l("Code from the app"), validators=[DataRequired(), Length(max=10)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class PasswordChangeForm(FlaskForm):
    """A user changes their own password; the current one proves it is them."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=10, max=200, message=_l("Use at least 10 characters."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordConfirmForm(FlaskForm):
    """A change that needs the password again (turning two-factor sign-in off)."""

    password = PasswordField(
        _l("Password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )


class TwoFactorPolicyForm(FlaskForm):
    """The admins' setting: staff must use an authenticator app."""

    required = BooleanField(_l("Admins and organizers must sign in with an authenticator app"))
