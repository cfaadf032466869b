"""Login, logout, language choice, and user administration."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from organizer.auth.access import admin_required
from organizer.auth.forms import ROLE_LABELS, LanguageForm, LoginForm, UserForm
from organizer.auth.models import Role, User
from organizer.auth.services import (
    LoginThrottled,
    UserError,
    authenticate,
    create_user,
    list_users,
    update_user,
)
from organizer.extensions import db, login_manager
from organizer.web import db_int, is_safe_redirect

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


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
                request.remote_addr or "unknown",
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                window_seconds=current_app.config["LOGIN_WINDOW_SECONDS"],
            )
            db.session.commit()  # the attempt counts, failed or not
        except LoginThrottled as throttled:
            minutes = max(1, round(throttled.retry_after / 60))
            flash(_("Too many failed logins. Try again in %(minutes)d minutes.", minutes=minutes), "danger")
            status = 429
        else:
            if user is not None:
                login_user(user, remember=form.remember.data)
                target = request.args.get("next")
                return redirect(target if is_safe_redirect(target) else url_for("home.index"))
            flash(_("Wrong email or password."), "danger")
            status = 401
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


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
    return render_template("auth/users.html", users=list_users(), role_labels=ROLE_LABELS)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
def new_user():
    form = UserForm(person_id=request.args.get("person_id", type=db_int))
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("A new account needs a password."))
        else:
            try:
                user = create_user(
                    email=form.email.data, name=form.name.data, password=form.password.data,
                    role=Role(form.role.data), person_id=form.person_id.data or None,
                    monthly_one_to_one_goal=form.monthly_one_to_one_goal.data, actor=current_user,
                )
                db.session.commit()
            except UserError as error:
                db.session.rollback()
                flash(str(error), "danger")
            else:
                flash(_("Account created for %(name)s.", name=user.name), "success")
                return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user, role=user.role.value)
    del form.email  # an account's email is its identity; not changed here
    if form.validate_on_submit():
        try:
            update_user(
                user, name=form.name.data, role=Role(form.role.data), active=form.active.data,
                person_id=form.person_id.data or None, monthly_one_to_one_goal=form.monthly_one_to_one_goal.data,
                password=form.password.data or None, actor=current_user,
            )
            db.session.commit()
        except UserError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("Account saved."), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user)
