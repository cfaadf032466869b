"""Institution pages: the list, one institution with its people, create and edit (staff)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from organizer.auth.access import staff_required
from organizer.extensions import db
from organizer.institutions.forms import INSTITUTION_STATUS_LABELS, INSTITUTION_TYPE_LABELS, InstitutionForm
from organizer.institutions.models import Institution, InstitutionStatus, InstitutionType
from organizer.institutions.services import (
    InstitutionError,
    get_institution,
    institution_people,
    institutions_with_counts,
    save_institution,
)
from organizer.people.forms import MEMBERSHIP_ROLE_LABELS
from organizer.settings.services import neighborhoods

bp = Blueprint("institutions", __name__, url_prefix="/institutions")


@bp.get("/")
@login_required
def index():
    return render_template(
        "institutions/index.html",
        rows=institutions_with_counts(current_user),
        type_labels=INSTITUTION_TYPE_LABELS,
        status_labels=INSTITUTION_STATUS_LABELS,
    )


@bp.get("/<int:institution_id>")
@login_required
def detail(institution_id: int):
    institution = get_institution(institution_id)
    memberships = institution_people(current_user, institution)
    return render_template(
        "institutions/detail.html",
        institution=institution,
        memberships=memberships,
        core_team=[m for m in memberships if m.role.value in ("core_team", "clergy")],
        type_labels=INSTITUTION_TYPE_LABELS,
        status_labels=INSTITUTION_STATUS_LABELS,
        role_labels=MEMBERSHIP_ROLE_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    return _edit(None)


@bp.route("/<int:institution_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(institution_id: int):
    return _edit(get_institution(institution_id))


def _edit(institution: Institution | None):
    form = InstitutionForm(obj=institution)
    form.neighborhood_id.choices = [("", "—")] + [(n.id, n.name) for n in neighborhoods()]
    if institution is not None and not form.is_submitted():
        form.type.data = institution.type.value
        form.status.data = institution.status.value
    if form.validate_on_submit():
        values = {
            "name": form.name.data,
            "type": InstitutionType(form.type.data),
            "faith_tradition": form.faith_tradition.data or None,
            "address": form.address.data or None,
            "neighborhood_id": form.neighborhood_id.data,
            "membership_size": form.membership_size.data,
            "monthly_one_to_one_goal": form.monthly_one_to_one_goal.data,
            "status": InstitutionStatus(form.status.data),
            "notes": form.notes.data or None,
        }
        try:
            institution = save_institution(institution, values, current_user)
            db.session.commit()
        except InstitutionError:
            db.session.rollback()
            form.name.errors.append(_("Another institution already has this name."))
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("institutions.detail", institution_id=institution.id))
    return render_template("institutions/form.html", form=form, institution=institution)
