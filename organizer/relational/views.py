"""Pages for one-to-ones, follow-ups, the pipeline (board, funnel, accountability, connectors) and stages."""

from __future__ import annotations

import json
from datetime import date, timedelta

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required

from organizer.auth.access import admin_required, staff_required
from organizer.auth.models import Role, User
from organizer.auth.services import staff_and_leaders, user_choices
from organizer.extensions import db
from organizer.forms import EmptyForm
from organizer.institutions.services import institution_choices
from organizer.people.models import Person
from organizer.people.services import PersonFilters, PhoneError, get_visible_person, search_people
from organizer.relational import action_follow_ups
from organizer.relational.forms import (
    ASSESSMENT_CHOICES,
    COMMITMENT_LABELS,
    COMMITMENT_STATUS_LABELS,
    MODE_LABELS,
    CommitmentStatusForm,
    FollowUpRescheduleForm,
    IssueForm,
    MoveForm,
    OneToOneEditForm,
    OneToOneForm,
    StageForm,
)
from organizer.relational.models import (
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    MeetingMode,
    Stage,
)
from organizer.relational.network_graph import COLOR_BY as NETWORK_COLOR_BY
from organizer.relational.network_graph import NetworkFilters, network_graph
from organizer.relational.services import (
    DISAGREEMENT_GAP,
    TIME_BUCKETS,
    BoardFilters,
    CommitmentData,
    MeetingDateError,
    OneToOneData,
    RelationalError,
    accountability,
    add_issue,
    board,
    can_edit_one_to_one,
    complete_follow_up,
    connectors,
    delete_stage,
    follow_ups,
    funnel,
    get_editable_one_to_one,
    get_visible_one_to_one,
    going_cold,
    institution_accountability,
    BOARD_MAX_PAGE,
    issues,
    local_today,
    log_one_to_one,
    mark_commitment,
    move_person,
    rater_calibration,
    reschedule_follow_up,
    save_stage,
    stages,
    stalled,
    suggestions,
    time_in_stage,
    update_one_to_one,
)
from organizer.settings.services import get_organization, neighborhoods
from organizer.web import date_arg, db_int, home_page_part, is_safe_redirect, local_date, person_page_part

bp = Blueprint("relational", __name__)

PERSON_CHOICES_LIMIT = 200
BOARD_CARDS_PER_COLUMN = 10  # a screen's worth; each column pages on


# --- one-to-ones ------------------------------------------------------------------------


@bp.route("/one-to-ones/new", methods=["GET", "POST"])
@login_required
def new_one_to_one():
    form = OneToOneForm()
    preselected = request.args.get("person_id", type=db_int)
    if request.method == "GET":
        form.held_on.data = local_today()
        if preselected:
            form.person_id.data = preselected
    _fill_choices(form, preselected, request.args.get("q", ""))
    if form.validate_on_submit():
        try:
            one = log_one_to_one(_data(form), current_user, region=get_organization().default_phone_region)
            db.session.commit()
        except PhoneError as error:  # an ambiguous number's message names its readings
            db.session.rollback()
            form.new_phone.errors.append(str(error))
        except MeetingDateError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(str(error))
        except RelationalError as error:
            db.session.rollback()
            form.person_id.errors.append(str(error))
        else:
            flash(_("One-to-one with %(name)s saved.", name=one.person.display_name), "success")
            return redirect(url_for("people.detail", person_id=one.person_id))
    return render_template("relational/one_to_one_form.html", form=form, rubric_labels=ASSESSMENT_CHOICES,
                           preselected=preselected)


def _fill_choices(form: OneToOneForm, preselected: int | None, q: str) -> None:
    """The select of people: search results (or the first names on the list), always the chosen one."""
    people = list(db.session.scalars(search_people(current_user, PersonFilters(q=q)).limit(PERSON_CHOICES_LIMIT)))
    chosen = form.person_id.data or preselected
    if chosen and chosen not in {p.id for p in people}:
        people.insert(0, get_visible_person(current_user, chosen))
    form.person_id.choices = [("", _("— someone new (below) —"))] + [(p.id, p.display_name) for p in people]
    _fill_meeting_choices(form, current_user)


def _fill_meeting_choices(form: OneToOneForm, holder: User) -> None:
    """Issues, and who held it for staff (``holder`` by default, listed even if no longer active);
    leaders always hold their own meetings, so they get no such field."""
    form.issue_ids.choices = [(i.id, i.name) for i in issues()]
    if current_user.is_staff:
        accounts = staff_and_leaders()
        if holder not in accounts:
            accounts.insert(0, holder)
        form.held_by_id.choices = [(u.id, u.name) for u in accounts]
        if form.held_by_id.data is None:
            form.held_by_id.data = holder.id
    else:
        del form.held_by_id


def _data(form: OneToOneForm) -> OneToOneData:
    """What the form says; the edit form has no person or commitments (those stay as they are)."""
    data = OneToOneData(
        held_on=form.held_on.data,
        held_by_id=form.held_by_id.data if "held_by_id" in form else None,
        duration_minutes=form.duration_minutes.data,
        mode=MeetingMode(form.mode.data),
        place=form.place.data,
        self_interest=form.self_interest.data,
        story=form.story.data,
        issue_ids=form.issue_ids.data or [],
        assessment=int(form.assessment.data) if form.assessment.data else None,
        next_step=form.next_step.data,
        follow_up_on=form.follow_up_on.data,
    )
    if "person_id" in form:
        data.person_id = form.person_id.data
        data.new_first_name, data.new_last_name = form.new_first_name.data, form.new_last_name.data
        data.new_phone = form.new_phone.data
        data.commitments = [
            CommitmentData(kind=CommitmentKind(row.kind.data), quantity=row.quantity.data, note=row.note.data)
            for row in form.commitments if row.kind.data
        ]
    return data


@bp.get("/one-to-ones/<int:one_to_one_id>")
@login_required
def one_to_one(one_to_one_id: int):
    one = get_visible_one_to_one(current_user, one_to_one_id)
    return render_template(
        "relational/one_to_one.html", one=one, mode_labels=MODE_LABELS, commitment_labels=COMMITMENT_LABELS,
        status_labels=COMMITMENT_STATUS_LABELS, statuses=list(CommitmentStatus),
        reschedule_form=FollowUpRescheduleForm(follow_up_on=one.follow_up_on),
        can_edit=can_edit_one_to_one(current_user, one),
    )


@bp.route("/one-to-ones/<int:one_to_one_id>/edit", methods=["GET", "POST"])
@login_required
def edit_one_to_one(one_to_one_id: int):
    one = get_editable_one_to_one(current_user, one_to_one_id)
    if request.method == "GET":
        form = OneToOneEditForm(obj=one, issue_ids=[i.id for i in one.issues])
        form.assessment.data = str(one.assessment or "")  # the "Not assessed" choice is ""
    else:
        form = OneToOneEditForm()
    _fill_meeting_choices(form, one.held_by)
    if form.validate_on_submit():
        try:
            update_one_to_one(one, _data(form), current_user)
            db.session.commit()
        except MeetingDateError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(str(error))
        except RelationalError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            flash(_("One-to-one with %(name)s saved.", name=one.person.display_name), "success")
            return redirect(url_for("relational.one_to_one", one_to_one_id=one.id))
    return render_template("relational/one_to_one_form.html", form=form, one=one)


@bp.post("/one-to-ones/<int:one_to_one_id>/commitments/<int:commitment_id>")
@login_required
def commitment_status(one_to_one_id: int, commitment_id: int):
    one = get_visible_one_to_one(current_user, one_to_one_id)
    commitment = db.session.get(Commitment, commitment_id)
    if commitment is None or commitment.one_to_one_id != one.id:
        abort(404)
    form = CommitmentStatusForm()
    if form.validate_on_submit():
        mark_commitment(commitment, CommitmentStatus(form.status.data), current_user)
        db.session.commit()
        flash(_("Commitment updated."), "success")
    return redirect(url_for("relational.one_to_one", one_to_one_id=one.id))


# --- follow-ups -------------------------------------------------------------------------


@bp.get("/follow-ups")
@login_required
def follow_ups_page():
    today = local_today()
    days = get_organization().going_cold_days
    cold, cold_total = going_cold(current_user, today, days)
    return render_template(
        "relational/follow_ups.html", today=today, follow=follow_ups(current_user, today),
        cold=cold, cold_total=cold_total, cold_days=days, button=EmptyForm(),
        after_actions=action_follow_ups.open_action_follow_ups(current_user),
        follow_up_kinds={"no_show": _("said yes and did not come"), "first_timer": _("their first action")},
    )


@bp.post("/follow-ups/action/<int:follow_up_id>/done")
@login_required
def action_follow_up_done(follow_up_id: int):
    """Mark done a follow-up added from an action's turnout list."""
    follow_up = action_follow_ups.get_action_follow_up(current_user, follow_up_id)
    if EmptyForm().validate_on_submit() and action_follow_ups.complete_action_follow_up(follow_up, current_user):
        db.session.commit()
        flash(_("Follow-up with %(name)s marked done.", name=follow_up.person.display_name), "success")
    return redirect(_back(url_for("relational.follow_ups_page")))


@bp.post("/follow-ups/<int:one_to_one_id>/done")
@login_required
def follow_up_done(one_to_one_id: int):
    one = get_visible_one_to_one(current_user, one_to_one_id)
    if EmptyForm().validate_on_submit():
        try:
            complete_follow_up(one, current_user)
            db.session.commit()
        except RelationalError:
            db.session.rollback()
            abort(403)
        flash(_("Follow-up with %(name)s marked done.", name=one.person.display_name), "success")
    return redirect(_back(url_for("relational.follow_ups_page")))


@bp.post("/follow-ups/<int:one_to_one_id>/reschedule")
@login_required
def follow_up_reschedule(one_to_one_id: int):
    one = get_visible_one_to_one(current_user, one_to_one_id)
    form = FollowUpRescheduleForm()
    if form.validate_on_submit():
        try:
            reschedule_follow_up(one, form.follow_up_on.data, current_user)
            db.session.commit()
        except MeetingDateError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(_back(url_for("relational.follow_ups_page")))
        except RelationalError:
            db.session.rollback()
            abort(403)
        flash(_("Follow-up with %(name)s moved to %(day)s.", name=one.person.display_name,
                day=format_date(form.follow_up_on.data)), "success")
    else:
        flash(_("Choose a date to reschedule."), "warning")
    return redirect(_back(url_for("relational.follow_ups_page")))


def _back(default: str) -> str:
    target = request.form.get("next") if request.form else None
    return target if is_safe_redirect(target) else default


# --- the pipeline -----------------------------------------------------------------------


def _board_filters() -> BoardFilters:
    args = request.args
    staff = current_user.is_staff
    return BoardFilters(
        institution_id=args.get("institution", type=db_int),
        neighborhood_id=args.get("neighborhood", type=db_int),
        organizer_id=args.get("organizer", type=db_int) if staff else None,
        leader_id=args.get("leader", type=db_int) if staff else None,
    )


@bp.get("/pipeline/board")
@login_required
def pipeline_board():
    filters = _board_filters()
    # Each column pages on its own: ?page_<stage id>=2.
    pages = {}
    for key in request.args:
        if key.startswith("page_") and key[5:].isdigit():
            pages[int(key[5:][:9])] = request.args.get(key, 1, type=db_int)
    columns = board(current_user, filters, per_column=BOARD_CARDS_PER_COLUMN, pages=pages)
    return render_template(
        "relational/board.html", columns=columns, filters=filters, max_page=BOARD_MAX_PAGE,
        institutions=institution_choices(), neighborhoods=neighborhoods(),
        organizers=user_choices(Role.ADMIN, Role.ORGANIZER) if current_user.is_staff else [],
        leader_choices=user_choices(Role.LEADER) if current_user.is_staff else [],
    )


@bp.post("/pipeline/move")
@login_required
def move():
    """Move a person to a stage. Staff move anyone; leaders only their own people (404 otherwise)."""
    form = MoveForm()
    form.stage_id.choices = [(s.id, s.name) for s in stages()]
    if not form.validate_on_submit():
        flash(_("Choose a stage."), "warning")
        return redirect(_back(url_for("relational.pipeline_board")))
    try:
        person_id = int(form.person_id.data)
    except ValueError:
        abort(404)
    person = get_visible_person(current_user, person_id)
    stage = db.session.get(Stage, form.stage_id.data)
    moved = move_person(person, stage, current_user, form.reason.data)
    db.session.commit()
    if moved:
        flash(_("%(name)s moved to %(stage)s.", name=person.display_name, stage=stage.name), "success")
    target = form.next.data
    return redirect(target if is_safe_redirect(target) else url_for("people.detail", person_id=person.id))


def _period() -> tuple[date, date]:
    today = local_today()
    start = date_arg("start") or today - timedelta(days=365)
    end = date_arg("end") or today
    return (start, end) if start <= end else (end, start)


@bp.get("/pipeline/funnel")
@login_required
def pipeline_funnel():
    start, end = _period()
    rows = funnel(current_user, start, end)
    # Days from 1 to a century: a larger number would take the date before year 1.
    stalled_days = min(max(request.args.get("stalled_days", 120, type=db_int) or 120, 1), 36500)
    cold_days = get_organization().going_cold_days
    stuck, stuck_total = stalled(current_user, local_today(), stalled_days, cold_days)
    stage_names = {r.stage.id: r.stage.name for r in rows}
    chart = {
        "type": "bar",
        "data": {
            "labels": [r.stage.name for r in rows],
            "datasets": [
                {"label": _("In this stage now"), "data": [r.current for r in rows]},
                {"label": _("Entered in the period"), "data": [r.entered for r in rows]},
                {"label": _("Of those, moved on"), "data": [r.moved_on for r in rows]},
            ],
        },
    }
    return render_template(
        "relational/funnel.html", rows=rows, start=start, end=end, chart=chart, buckets=TIME_BUCKETS,
        time_in_stage=time_in_stage(current_user), stuck=stuck, stuck_total=stuck_total,
        stalled_days=stalled_days, cold_days=cold_days, stage_names=stage_names,
    )


@bp.get("/pipeline/accountability")
@login_required
def pipeline_accountability():
    # A leader sees their own numbers against their goal, and nobody else's names.
    today = local_today()
    staff = current_user.is_staff
    organizers, leader_rows, week_start, month_start = accountability(today, only=None if staff else current_user)
    institutions = (institution_accountability(month_start, today, get_organization().timezone)
                    if staff else [])
    charts = {}
    for key, rows in (("organizers", organizers), ("leaders", leader_rows)):
        charts[key] = {
            "type": "bar",
            "data": {
                "labels": [r.user.name for r in rows],
                "datasets": [
                    {"label": _("This month"), "data": [r.month for r in rows]},
                    {"label": _("Monthly goal"), "data": [r.goal or 0 for r in rows]},
                ],
            },
        }
    # The chart draws the institutions with a goal or a one-to-one this month; the table has all.
    drawn = [r for r in institutions if r.goal or r.with_members or r.by_its_leaders]
    charts["institutions"] = {
        "type": "bar",
        "data": {
            "labels": [r.name for r in drawn],
            "datasets": [
                {"label": _("By its leaders this month"), "data": [r.by_its_leaders for r in drawn]},
                {"label": _("Monthly goal"), "data": [r.goal or 0 for r in drawn]},
            ],
        },
    }
    return render_template(
        "relational/accountability.html", organizers=organizers, leader_rows=leader_rows,
        institutions=institutions, week_start=week_start, month_start=month_start, charts=charts, staff=staff,
    )


@bp.get("/pipeline/raters")
@staff_required
def pipeline_raters():
    """How differently organizers and leaders score people, so they can calibrate."""
    raters, disagreements, disagreement_total = rater_calibration()
    chart = {
        "type": "bar",
        "data": {
            "labels": [r.user.name for r in raters],
            "datasets": [
                {"label": _("Average score"), "data": [r.average for r in raters]},
                {"label": _("Spread (standard deviation)"), "data": [r.spread for r in raters]},
            ],
        },
        "options": {"scales": {"y": {"min": 0, "max": 5}}},
    }
    return render_template("relational/raters.html", raters=raters, disagreements=disagreements,
                           disagreement_total=disagreement_total, gap=DISAGREEMENT_GAP, chart=chart)


@bp.get("/pipeline/suggestions")
@login_required
def pipeline_suggestions():
    target, rows = suggestions(current_user)
    return render_template("relational/suggestions.html", target=target, rows=rows)


@bp.get("/pipeline/connectors")
@staff_required
def pipeline_connectors():
    return render_template("relational/connectors.html", rows=connectors())


#: The network's default period: the last three months' one-to-ones (a year of a large
#: federation is 200,000 of them, seconds of work for a picture that can show a few hundred).
NETWORK_DEFAULT_DAYS = 90


def _network_filters() -> NetworkFilters:
    end = date_arg("end") or local_today()
    start = date_arg("start") or end - timedelta(days=NETWORK_DEFAULT_DAYS)
    start, end = (start, end) if start <= end else (end, start)
    color_by = request.args.get("color", "institution")
    return NetworkFilters(
        start=start, end=end, stage_id=request.args.get("stage", type=db_int),
        institution_id=request.args.get("institution", type=db_int),
        color_by=color_by if color_by in NETWORK_COLOR_BY else "institution",
    )


def _network_args(filters: NetworkFilters) -> dict:
    """The filters as the query string they came from (the JSON endpoint gets the same)."""
    args = {"start": filters.start.isoformat(), "end": filters.end.isoformat(), "color": filters.color_by}
    if filters.stage_id:
        args["stage"] = filters.stage_id
    if filters.institution_id:
        args["institution"] = filters.institution_id
    return args


@bp.get("/pipeline/network")
@login_required
def pipeline_network():
    """The relational network drawn by ``static/js/network.js``, with the connectors and bridges as
    tables, which are also what a phone or a browser without JavaScript reads. The drawing's data
    travels in the page (computing the graph is the page's whole cost: not twice per view);
    ``network.json`` answers the same for other clients."""
    filters = _network_filters()
    graph = network_graph(current_user, filters)
    return render_template(
        "relational/network.html", graph=graph, filters=filters, stages=stages(),
        institutions=institution_choices(), data_url=url_for("relational.pipeline_network_json", **_network_args(filters)),
        graph_json=json.dumps(_graph_json(graph), separators=(",", ":")),
    )


def _graph_json(graph) -> dict:
    return graph.as_json(lambda person_id: url_for("people.detail", person_id=person_id))


@bp.get("/pipeline/network.json")
@login_required
def pipeline_network_json():
    """The graph as JSON for the page's script; a leader's holds only their own people."""
    return jsonify(_graph_json(network_graph(current_user, _network_filters())))


# --- admin: stages and issues -----------------------------------------------------------


@bp.route("/admin/stages", methods=["GET", "POST"])
@admin_required
def admin_stages():
    all_stages = stages()
    form = StageForm(prefix="new")
    if request.method == "GET":
        form.position.data = (all_stages[-1].position + 1) if all_stages else 1
    if form.validate_on_submit():
        try:
            save_stage(None, name=form.name.data, position=form.position.data,
                       description=form.description.data or "", suggest_for=form.suggest_for.data,
                       actor=current_user)
            db.session.commit()
        except RelationalError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            flash(_("Stage %(name)s added.", name=form.name.data), "success")
            return redirect(url_for("relational.admin_stages"))
    edit_forms = {s.id: StageForm(prefix=f"s{s.id}", obj=s, formdata=None) for s in all_stages}
    return render_template("relational/admin_stages.html", stages=all_stages, form=form, edit_forms=edit_forms)


@bp.post("/admin/stages/<int:stage_id>")
@admin_required
def admin_stage_edit(stage_id: int):
    stage = db.session.get(Stage, stage_id) or abort(404)
    form = StageForm(prefix=f"s{stage.id}")
    if form.validate_on_submit():
        try:
            save_stage(stage, name=form.name.data, position=form.position.data,
                       description=form.description.data or "", suggest_for=form.suggest_for.data,
                       actor=current_user)
            db.session.commit()
        except RelationalError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("Stage %(name)s saved.", name=stage.name), "success")
    else:
        flash(_("A stage needs a name and an order from 1 to 100."), "danger")
    return redirect(url_for("relational.admin_stages"))


@bp.post("/admin/stages/<int:stage_id>/delete")
@admin_required
def admin_stage_delete(stage_id: int):
    stage = db.session.get(Stage, stage_id) or abort(404)
    if EmptyForm().validate_on_submit():
        try:
            delete_stage(stage, current_user)
            db.session.commit()
        except RelationalError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("Stage deleted."), "info")
    return redirect(url_for("relational.admin_stages"))


@bp.route("/admin/issues", methods=["GET", "POST"])
@admin_required
def admin_issues():
    form = IssueForm()
    if form.validate_on_submit():
        try:
            add_issue(form.name.data, current_user)
            db.session.commit()
        except RelationalError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            flash(_("Added %(name)s.", name=form.name.data), "success")
            return redirect(url_for("relational.admin_issues"))
    return render_template("relational/admin_issues.html", form=form, issues=issues())


# --- what the person page shows ---------------------------------------------------------


@person_page_part("relational")
def person_facts(user: User, person: Person) -> dict:
    """The person page's stage, move form, network and assessments (``parts.relational``)."""
    from organizer.relational.services import assessment_history, current_stage, network

    stage, since = current_stage(person.id)
    form = MoveForm(formdata=None, person_id=person.id, stage_id=stage.id if stage else None,
                    next=url_for("people.detail", person_id=person.id))
    form.stage_id.choices = [(s.id, s.name) for s in stages()]
    met, met_by = network(user, person)
    assessments = assessment_history(user, person)
    chart = {
        "type": "line",
        "data": {
            "labels": [local_date(a.held_on) for a in assessments],
            "datasets": [{"label": _("Assessment (1-5)"), "data": [a.assessment for a in assessments],
                          "stepped": False, "tension": 0}],
        },
        "options": {"scales": {"y": {"min": 1, "max": 5, "ticks": {"stepSize": 1}}},
                    "plugins": {"legend": {"display": False}}},
    }
    return {"stage": stage, "since": since, "move_form": form, "met": met, "met_by": met_by,
            "assessments": assessments, "assessment_chart": chart}


#: How many of each list the home page shows (each links to its full page).
HOME_LIST_LENGTH = 5


@home_page_part("relational")
def home_today(user: User) -> dict:
    """The home page's relational part: follow-ups overdue and due today (with done and
    reschedule), the user's one-to-ones this month against their goal, people going cold on their
    list and, for staff, suggested emerging leaders. Fixed queries."""
    today = local_today()
    follow = follow_ups(user, today)
    _organizers, _leaders, _week, _month = accountability(today, only=user)
    mine = (_organizers + _leaders)[:1]
    cold, cold_total = going_cold(user, today, get_organization().going_cold_days, limit=HOME_LIST_LENGTH)
    suggested = suggestions(user, limit=HOME_LIST_LENGTH)[1] if user.is_staff else []
    return {
        "overdue": follow.overdue[:HOME_LIST_LENGTH], "due_today": follow.today[:HOME_LIST_LENGTH],
        "counts": follow.counts, "month": mine[0] if mine else None, "cold": cold, "cold_total": cold_total,
        "suggested": suggested, "today": today, "button": EmptyForm(),
    }


