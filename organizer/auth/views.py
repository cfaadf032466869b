"""Login, logout, language choice, and user administration."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup

from organizer.audit.services import record
from organizer.auth import totp
from organizer.auth.access import admin_required
from organizer.auth.forms import (
    ROLE_LABELS,
    CodeForm,
    EnrollForm,
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    PasswordConfirmForm,
    TwoFactorPolicyForm,
    UserForm,
)
from organizer.auth.models import Role, User
from organizer.auth.services import (
    LoginThrottled,
    UserError,
    authenticate,
    change_own_password,
    create_user,
    disable_two_factor,
    end_sessions,
    enroll_two_factor,
    list_users,
    recovery_codes_left,
    record_login,
    set_two_factor_policy,
    two_factor_issuer,
    two_factor_policy,
    two_factor_required,
    update_user,
    user_by_id,
    verify_second_factor,
)
from organizer.extensions import db, login_manager
from organizer.forms import EmptyForm
from organizer.people.models import Person
from organizer.people.services import PersonFilters, search_people
from organizer.web import db_int, is_safe_redirect

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user, if the cookie's session version is still the user's: cookies from
    before a logout, a password or role change or a deactivation are turned away."""
    ident, _sep, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None  # a cookie from before session versions: sign in again
    user = user_by_id(int(ident))
    if user is None or user.session_version != int(version):
        return None
    return user


# Endpoints a signed-in user who must set up two-factor sign-in may still reach.
ENROLLMENT_OPEN = {"auth.two_factor", "auth.logout", "auth.set_language", "static"}
PENDING_LOGIN_SECONDS = 300


@bp.before_app_request
def require_two_factor_enrollment():
    """Staff who must use an authenticator app and have none set up go to set one up first."""
    if (
        request.endpoint not in ENROLLMENT_OPEN  # first: static files need no user loaded
        and current_user.is_authenticated
        and not current_user.two_factor_enabled
        and two_factor_required(current_user)
    ):
        flash(_("Set up two-factor sign-in to go on: it is required for your role."), "warning")
        return redirect(url_for("auth.two_factor"))
    return None


def _address() -> str:
    return request.remote_addr or "unknown"


def _throttled_response(template: str, form, throttled: LoginThrottled):
    if throttled.retry_after < 60:
        flash(_("Too many failed tries. Try again in %(seconds)d seconds.", seconds=throttled.retry_after),
              "danger")
    else:
        minutes = max(1, round(throttled.retry_after / 60))
        flash(_("Too many failed logins. Try again in %(minutes)d minutes.", minutes=minutes), "danger")
    response = make_response(render_template(template, form=form), 429)
    response.headers["Retry-After"] = str(throttled.retry_after)
    return response


def _finish_login(user: User, remember: bool, target: str | None):
    """Both factors are right: note the login, start the session, go where the user wanted."""
    record_login(user, _address())
    db.session.commit()
    session.pop("pending_login", None)
    login_user(user, remember=remember)
    if two_factor_required(user) and not user.two_factor_enabled:
        return redirect(url_for("auth.two_factor"))
    return redirect(target if is_safe_redirect(target) else url_for("home.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data,
                form.password.data,
                _address(),
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                window_seconds=current_app.config["LOGIN_WINDOW_SECONDS"],
                address_max_failures=current_app.config["LOGIN_ADDRESS_MAX_FAILURES"],
            )
            db.session.commit()  # the attempt counts, failed or not
        except LoginThrottled as throttled:
            return _throttled_response("auth/login.html", form, throttled)
        target = request.args.get("next")
        if user is not None and user.two_factor_enabled:
            # The password was right; the session holds only who is half-way in, for a few minutes.
            session["pending_login"] = {"user": user.get_id(), "remember": bool(form.remember.data),
                                        "next": target, "at": time.time()}
            return redirect(url_for("auth.login_code"))
        if user is not None:
            return _finish_login(user, bool(form.remember.data), target)
        flash(_("Wrong email or password."), "danger")
        status = 401
    return render_template("auth/login.html", form=form), status


def _pending_user() -> User | None:
    """Who typed the right password in this browser in the last few minutes, if anyone."""
    pending = session.get("pending_login")
    if not pending or time.time() - pending.get("at", 0) > PENDING_LOGIN_SECONDS:
        session.pop("pending_login", None)
        return None
    user = load_user(pending["user"])
    return user if user is not None and user.active and user.two_factor_enabled else None


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step of signing in, for users with an authenticator app."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            accepted = verify_second_factor(
                user, form.code.data,
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                window_seconds=current_app.config["LOGIN_WINDOW_SECONDS"],
            )
            db.session.commit()
        except LoginThrottled as throttled:
            return _throttled_response("auth/login_code.html", form, throttled)
        if accepted:
            pending = session["pending_login"]
            return _finish_login(user, pending["remember"], pending["next"])
        form.code.errors.append(_("That code is not right, or was already used."))
        status = 401
    return render_template("auth/login_code.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Log out here and everywhere: a copied session or remember-me cookie stops working too."""
    user = db.session.get(User, current_user.id)
    end_sessions(user)
    record(user, "logout", user)
    db.session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/account")
@login_required
def account():
    return _account_page(PasswordChangeForm())


def _account_page(password_form, status: int = 200):
    return render_template(
        "auth/account.html", password_form=password_form, button=EmptyForm(),
        required=two_factor_required(current_user), codes_left=recovery_codes_left(current_user),
        disable_form=PasswordConfirmForm(),
    ), status


@bp.post("/account/password")
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            change_own_password(current_user, form.current_password.data, form.new_password.data)
            db.session.commit()
        except UserError as error:
            db.session.rollback()
            form.current_password.errors.append(str(error))
        else:
            login_user(current_user._get_current_object())  # this browser stays signed in
            flash(_("Password changed. You are signed out on every other device."), "success")
            return redirect(url_for("auth.account"))
    return _account_page(form, 400)


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    form = EmptyForm()
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        end_sessions(user)
        record(user, "logout", user, {"everywhere": True})
        db.session.commit()
        logout_user()
        flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor():
    """Set up an authenticator app: scan the QR code (or type the key), then type a code."""
    if current_user.two_factor_enabled:
        return redirect(url_for("auth.account"))
    secret = session.get("totp_pending") or totp.new_secret()
    session["totp_pending"] = secret
    form = EnrollForm()
    if form.validate_on_submit():
        try:
            codes = enroll_two_factor(current_user, secret, form.code.data)
            db.session.commit()
        except UserError as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            session.pop("totp_pending", None)
            flash(_("Two-factor sign-in is on."), "success")
            return render_template("auth/recovery_codes.html", codes=codes)
    issuer = two_factor_issuer()
    uri = totp.provisioning_uri(secret, current_user.email, issuer)
    return render_template(
        "auth/two_factor.html", form=form, secret=secret,
        qr=Markup(totp.qr_svg(uri, _("QR code for your authenticator app"))),  # noqa: S704 - segno's own SVG
        required=two_factor_required(current_user),
    )


@bp.post("/account/two-factor/disable")
@login_required
def disable_own_two_factor():
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        try:
            disable_two_factor(current_user, current_user, form.password.data)
            db.session.commit()
        except UserError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            login_user(current_user._get_current_object())
            flash(_("Two-factor sign-in is off."), "info")
    return redirect(url_for("auth.account"))


@bp.post("/admin/users/<int:user_id>/two-factor/reset")
@admin_required
def reset_two_factor(user_id: int):
    """An admin turns off someone's two-factor sign-in (a lost phone); they set it up again."""
    user = db.session.get(User, user_id) or abort(404)
    if EmptyForm().validate_on_submit() and user.two_factor_enabled:
        disable_two_factor(user, current_user)
        db.session.commit()
        if user.id == current_user.id:
            login_user(user)
        flash(_("Two-factor sign-in is off for %(name)s.", name=user.name), "success")
    return redirect(url_for("auth.edit_user", user_id=user.id))


@bp.post("/admin/users/two-factor-policy", endpoint="two_factor_policy")
@admin_required
def save_two_factor_policy():
    # Named apart from the service it calls beside it: the users page reads the policy.
    form = TwoFactorPolicyForm()
    if form.validate_on_submit():
        try:
            set_two_factor_policy(bool(form.required.data), current_user)
            db.session.commit()
        except UserError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("Saved."), "success")
    return redirect(url_for("auth.users"))


@bp.post("/account/language")
def set_language():
    form = LanguageForm()
    form.locale.choices = list(current_app.config["LANGUAGES"].items())
    if form.validate_on_submit() and current_user.is_authenticated:
        current_user.locale = form.locale.data
        db.session.commit()
    target = request.referrer
    path = target and target.split(request.host_url, 1)[-1]
    return redirect("/" + path if path and is_safe_redirect("/" + path) else url_for("home.index"))


@bp.get("/admin/users")
@admin_required
def users():
    policy = TwoFactorPolicyForm(required=bool(two_factor_policy()))
    return render_template("auth/users.html", users=list_users(), role_labels=ROLE_LABELS, policy_form=policy)


def _linked_person(form: UserForm) -> tuple[bool, int | None]:
    """The person the account is linked to: the one picked in the page (``person_id``), else the
    only person whose name matches what was typed (``person_q``, for browsers without
    JavaScript). ``(False, None)`` with an error on the field when that is not one person."""
    raw = str(form.person_id.data or "").strip()
    if raw:
        try:
            return True, db_int(raw)
        except ValueError:
            form.person_id.errors = [_("Choose the person from the list.")]
            return False, None
    typed = request.form.get("person_q", "").strip()
    if not typed:
        return True, None
    found = list(db.session.scalars(search_people(current_user, PersonFilters(q=typed)).limit(2)))
    if len(found) == 1:
        return True, found[0].id
    form.person_id.errors = [_("No person is named “%(name)s”.", name=typed) if not found
                             else _("Several people match “%(name)s”: choose one from the list.", name=typed)]
    return False, None


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    form = UserForm(person_id=request.args.get("person_id", type=db_int))
    if form.validate_on_submit() and (linked := _linked_person(form))[0]:
        person_id = linked[1]
        if not form.password.data:
            form.password.errors.append(_("A new account needs a password."))
        else:
            try:
                user = create_user(
                    email=form.email.data, name=form.name.data, password=form.password.data,
                    role=Role(form.role.data), person_id=person_id,
                    monthly_one_to_one_goal=form.monthly_one_to_one_goal.data, actor=current_user,
                )
                db.session.commit()
            except UserError as error:
                db.session.rollback()
                flash(str(error), "danger")
            else:
                flash(_("Account created for %(name)s.", name=user.name), "success")
                return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None, linked=_linked_name(form))


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user, role=user.role.value)
    del form.email  # an account's email is its identity; not changed here
    if form.validate_on_submit() and (linked := _linked_person(form))[0]:
        person_id = linked[1]
        try:
            update_user(
                user, name=form.name.data, role=Role(form.role.data), active=form.active.data,
                person_id=person_id, monthly_one_to_one_goal=form.monthly_one_to_one_goal.data,
                password=form.password.data or None, actor=current_user,
            )
            db.session.commit()
        except UserError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            if user.id == current_user.id:
                login_user(user)  # an admin changing their own password stays signed in here
            flash(_("Account saved."), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user, reset_form=EmptyForm(),
                           linked=_linked_name(form))


def _linked_name(form: UserForm) -> str:
    """The name to show in the person picker for the person the form links to."""
    try:
        person = db.session.get(Person, db_int(str(form.person_id.data or "")))
    except ValueError:
        return request.form.get("person_q", "")
    return person.display_name if person else ""
