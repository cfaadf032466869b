"""Campaign pages: list, campaign with its actions and turnout history, the power map, targets.

Organizers plan campaigns and move targets on the map; leaders see them, and record which
of their own people know a target.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from organizer.actions.forms import TYPE_LABELS
from organizer.actions.services import turnout_history
from organizer.auth.access import staff_required
from organizer.auth.models import Role
from organizer.campaigns.forms import (
    POSITION_LABELS,
    RELATIONSHIP_LABELS,
    STATUS_LABELS,
    STRENGTH_LABELS,
    TIE_LABELS,
    TIE_PHRASES,
    CampaignForm,
    MapTargetForm,
    PositionForm,
    RelationshipForm,
    TargetForm,
    TieForm,
)
from organizer.campaigns.models import Campaign, CampaignStatus, Position, RelationshipKind, Target
from organizer.campaigns.services import (
    CampaignData,
    CampaignError,
    TargetData,
    add_relationship,
    add_tie,
    all_targets,
    campaign_targets,
    get_campaign,
    get_campaign_target,
    get_target,
    list_campaigns,
    paths_to,
    power_map,
    put_on_map,
    reach_for_targets,
    remove_relationship,
    remove_tie,
    save_campaign,
    save_target,
    set_position,
    targets_sharing_a_campaign,
    ties_of,
)
from organizer.extensions import db
from organizer.forms import EmptyForm
from organizer.institutions.services import get_institution, institution_choices
from organizer.people.services import PersonFilters, get_visible_person, search_people

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


@bp.get("/")
@login_required
def index():
    return render_template("campaigns/index.html", rows=list_campaigns(), status_labels=STATUS_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    form = _campaign_form(None)
    if form.validate_on_submit():
        campaign = save_campaign(None, _campaign_data(form), current_user)
        db.session.commit()
        flash(_("Campaign saved."), "success")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    return render_template("campaigns/form.html", form=form, campaign=None)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(campaign_id: int):
    campaign = get_campaign(campaign_id)
    form = _campaign_form(campaign)
    if form.validate_on_submit():
        try:
            save_campaign(campaign, _campaign_data(form), current_user)
            db.session.commit()
        except CampaignError as error:
            db.session.rollback()
            form.ends_on.errors.append(str(error))
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    return render_template("campaigns/form.html", form=form, campaign=campaign)


def _campaign_form(campaign: Campaign | None) -> CampaignForm:
    if campaign is not None and request.method == "GET":
        form = CampaignForm(obj=campaign, status=campaign.status.value,
                            institution_ids=[i.id for i in campaign.institutions])
    else:
        form = CampaignForm()
    from organizer.auth.services import staff_and_leaders

    form.lead_organizer_id.choices = [("", "—")] + [
        (u.id, u.name) for u in staff_and_leaders() if u.role in (Role.ORGANIZER, Role.ADMIN)]
    form.institution_ids.choices = institution_choices()
    return form


def _campaign_data(form: CampaignForm) -> CampaignData:
    return CampaignData(
        name=form.name.data, issue=form.issue.data or "", goal=form.goal.data,
        status=CampaignStatus(form.status.data), starts_on=form.starts_on.data, ends_on=form.ends_on.data,
        lead_organizer_id=form.lead_organizer_id.data, institution_ids=form.institution_ids.data or [],
        notes=form.notes.data,
    )


@bp.get("/<int:campaign_id>")
@login_required
def detail(campaign_id: int):
    campaign = get_campaign(campaign_id)
    history = turnout_history(campaign.id)
    chart = {
        "type": "bar",
        "data": {
            "labels": [a.title for a, _y, _c in history],
            "datasets": [
                {"label": _("Goal"), "data": [a.turnout_goal for a, _y, _c in history]},
                {"label": _("RSVP yes"), "data": [y for _a, y, _c in history]},
                {"label": _("Checked in"), "data": [c for _a, _y, c in history]},
            ],
        },
    }
    return render_template(
        "campaigns/detail.html", campaign=campaign, history=history, chart=chart, targets=campaign_targets(campaign),
        status_labels=STATUS_LABELS, position_labels=POSITION_LABELS, type_labels=TYPE_LABELS,
    )


# --- the power map ----------------------------------------------------------------------


@bp.get("/<int:campaign_id>/power-map")
@login_required
def power_map_page(campaign_id: int):
    campaign = get_campaign(campaign_id)
    add_form = None
    if current_user.is_staff:
        add_form = MapTargetForm()
        add_form.target_id.choices = [("", _("— a new target —"))] + [
            (t.id, f"{t.name} ({t.title})" if t.title else t.name) for t in all_targets()]
    return render_template(
        "campaigns/power_map.html", campaign=campaign, map=power_map(campaign, current_user), add_form=add_form,
        position_form=PositionForm() if current_user.is_staff else None,
        position_labels=POSITION_LABELS, relationship_labels=RELATIONSHIP_LABELS, influences=range(5, 0, -1),
        tie_labels=TIE_LABELS, tie_phrases=TIE_PHRASES, strength_labels=STRENGTH_LABELS,
    )


@bp.post("/<int:campaign_id>/targets")
@staff_required
def add_target(campaign_id: int):
    campaign = get_campaign(campaign_id)
    form = MapTargetForm()
    form.target_id.choices = [("", "")] + [(t.id, t.name) for t in all_targets()]
    if not form.validate_on_submit():
        flash(_("Choose a target or name a new one."), "warning")
        return redirect(url_for("campaigns.power_map_page", campaign_id=campaign.id))
    if form.target_id.data:
        target = get_target(form.target_id.data)
    else:
        target = save_target(None, TargetData(name=form.name.data, title=form.title.data or "",
                                              body=form.body.data or "", contact=form.contact.data), current_user)
    try:
        put_on_map(campaign, target, Position(form.position.data), form.influence.data, current_user, form.note.data)
        db.session.commit()
    except CampaignError:
        db.session.rollback()
        flash(_("This target is already on the power map."), "warning")
    else:
        flash(_("%(name)s is on the power map.", name=target.name), "success")
    return redirect(url_for("campaigns.power_map_page", campaign_id=campaign.id))


@bp.post("/<int:campaign_id>/targets/<int:link_id>/position")
@staff_required
def move_target(campaign_id: int, link_id: int):
    campaign = get_campaign(campaign_id)
    link = get_campaign_target(campaign, link_id)
    form = PositionForm()
    if form.validate_on_submit():
        set_position(link, Position(form.position.data), form.influence.data, current_user, form.note.data)
        db.session.commit()
        flash(_("Position saved."), "success")
    if request.args.get("back") == "target":
        return redirect(url_for("campaigns.target", target_id=link.target_id))
    return redirect(url_for("campaigns.power_map_page", campaign_id=campaign.id))


# --- targets ----------------------------------------------------------------------------


@bp.get("/targets/<int:target_id>")
@login_required
def target(target_id: int):
    target = get_target(target_id)
    reachers, total = reach_for_targets([target.id], current_user)[target.id]
    q = request.args.get("q", "").strip()
    matches = list(db.session.scalars(search_people(current_user, PersonFilters(q=q)).limit(20))) if q else []
    form = RelationshipForm()
    form.institution_id.choices = institution_choices("—")
    return render_template(
        "campaigns/target.html", target=target, reachers=reachers, total=total,
        q=q, matches=matches, form=form, position_form=PositionForm() if current_user.is_staff else None,
        position_labels=POSITION_LABELS, relationship_labels=RELATIONSHIP_LABELS,
        ties=ties_of(target), reach=paths_to(target, current_user),
        tie_form=_tie_form(target) if current_user.is_staff else None,
        tie_labels=TIE_LABELS, tie_phrases=TIE_PHRASES, strength_labels=STRENGTH_LABELS,
    )


def _tie_form(target: Target) -> TieForm:
    form = TieForm()
    form.kind.description = _("Read it as a sentence: %(name)s, the relationship, the other target.", name=target.name)
    form.other_target_id.choices = [("", "—")] + [
        (t.id, f"{t.name} ({t.title})" if t.title else t.name) for t in targets_sharing_a_campaign(target)]
    return form


@bp.route("/targets/<int:target_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_target(target_id: int):
    target = get_target(target_id)
    form = TargetForm(obj=target)
    if form.validate_on_submit():
        save_target(target, TargetData(name=form.name.data, title=form.title.data or "", body=form.body.data or "",
                                       contact=form.contact.data, notes=form.notes.data), current_user)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("campaigns.target", target_id=target.id))
    return render_template("campaigns/target_form.html", form=form, target=target)


@bp.post("/targets/<int:target_id>/relationships")
@login_required
def add_relationship_view(target_id: int):
    target: Target = get_target(target_id)
    form = RelationshipForm()
    form.institution_id.choices = institution_choices("—")
    if not form.validate_on_submit():
        flash(_("Choose a person or an institution."), "warning")
        return redirect(url_for("campaigns.target", target_id=target.id))
    person = institution = None
    if form.person_id.data:
        person = get_visible_person(current_user, int(form.person_id.data))  # a leader: own people only
    else:
        if not current_user.is_staff:
            abort(403)
        institution = get_institution(form.institution_id.data)
    add_relationship(target, RelationshipKind(form.kind.data), current_user, person=person,
                     institution=institution, note=form.note.data)
    db.session.commit()
    flash(_("Relationship saved."), "success")
    return redirect(url_for("campaigns.target", target_id=target.id))


@bp.post("/targets/<int:target_id>/relationships/<int:relationship_id>/delete")
@login_required
def remove_relationship_view(target_id: int, relationship_id: int):
    target = get_target(target_id)
    if EmptyForm().validate_on_submit():
        remove_relationship(target, relationship_id, current_user)
        db.session.commit()
    return redirect(url_for("campaigns.target", target_id=target.id))


@bp.post("/targets/<int:target_id>/ties")
@staff_required
def add_tie_view(target_id: int):
    target = get_target(target_id)
    form = _tie_form(target)
    if not form.validate_on_submit():
        flash(_("Choose the other target and the relationship."), "warning")
        return redirect(url_for("campaigns.target", target_id=target.id))
    try:
        add_tie(target, get_target(form.other_target_id.data), form.tie_kind, current_user, outgoing=form.outgoing,
                strength=form.strength.data, note=form.note.data)
        db.session.commit()
    except CampaignError as error:
        db.session.rollback()
        flash(str(error), "warning")
    else:
        flash(_("Relationship saved."), "success")
    return redirect(url_for("campaigns.target", target_id=target.id))


@bp.post("/targets/<int:target_id>/ties/<int:tie_id>/delete")
@staff_required
def remove_tie_view(target_id: int, tie_id: int):
    target = get_target(target_id)
    if EmptyForm().validate_on_submit():
        if remove_tie(target, tie_id, current_user):
            db.session.commit()
            flash(_("Relationship removed."), "success")
        else:
            flash(_("That relationship was already removed."), "info")
    return redirect(url_for("campaigns.target", target_id=target.id))
