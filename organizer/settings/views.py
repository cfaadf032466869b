"""Organization settings and managed lists, for admins."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from organizer.auth.access import admin_required
from organizer.extensions import db
from organizer.settings.forms import ListEntryForm, OrganizationForm
from organizer.settings.models import Neighborhood, Tag
from organizer.settings.services import (
    SettingsError,
    add_list_entry,
    get_organization,
    neighborhoods,
    save_organization,
    tags,
)

bp = Blueprint("settings", __name__, url_prefix="/admin")

LISTS = {"neighborhoods": Neighborhood, "tags": Tag}


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def organization():
    form = OrganizationForm(obj=get_organization())
    if form.validate_on_submit():
        try:
            save_organization(
                name=form.name.data, timezone=form.timezone.data,
                default_phone_region=form.default_phone_region.data,
                member_phone_regions=form.member_phone_regions.data or "",
                sms_help_text=form.sms_help_text.data or "", going_cold_days=form.going_cold_days.data,
                text_staff_rsvp_confirmations=bool(form.text_staff_rsvp_confirmations.data), actor=current_user,
            )
            db.session.commit()
        except SettingsError as error:
            db.session.rollback()
            form.timezone.errors.append(str(error))
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("settings.organization"))
    return render_template("settings/organization.html", form=form)


@bp.route("/lists", methods=["GET", "POST"])
@admin_required
def lists():
    """Neighborhoods and tags; each list has its own small add form (told apart by prefix)."""
    forms = {name: ListEntryForm(prefix=name) for name in LISTS}
    submitted = next((name for name in LISTS if f"{name}-name" in request.form), None)
    if submitted and forms[submitted].validate_on_submit():
        form = forms[submitted]
        try:
            add_list_entry(LISTS[submitted], form.name.data, current_user)
            db.session.commit()
        except SettingsError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            flash(_("Added %(name)s.", name=form.name.data), "success")
            return redirect(url_for("settings.lists"))
    return render_template(
        "settings/lists.html", forms=forms, neighborhoods=neighborhoods(), tags=tags()
    )
