"""Action pages: list, plan, detail with commitments and RSVPs, check-in at the door, turnout,
exports, the printable sign-in sheet, and the public sign-up page (``/signup/<token>``, no login).

Check-in is open to organizers and leaders: a leader at the door finds and checks in their
own people (the search is scoped like every list of people) and enters walk-ins. The page also
works offline (``static/js/checkin-offline.js``, a service worker and IndexedDB): the device
keeps the roster and queues what is done offline, synced through ``checkin_sync``.
"""

from __future__ import annotations

import json
from pathlib import Path

from babel.units import format_unit
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from organizer.actions import after
from organizer.actions.forms import (
    RSVP_LABELS,
    SOURCE_LABELS,
    TYPE_LABELS,
    ActionForm,
    CheckInForm,
    InstitutionCommitmentForm,
    LeaderCommitmentForm,
    RsvpForm,
    SignupForm,
    WalkInForm,
    timezone_choices,
)
from organizer.actions.door import checkin_roster, results_json, sync_checkin_ops
from organizer.actions.ics import action_ics
from organizer.actions.models import Action, ActionType, RsvpStatus
from organizer.actions.services import (
    MAYBE_WEIGHT,
    MIN_HISTORY,
    ActionData,
    ActionError,
    SignupData,
    SignupThrottled,
    WalkInData,
    action_counts,
    action_for_page,
    archive_action,
    check_in,
    check_signup_rate,
    checked_in_count,
    checkin_search,
    commitments_of,
    confirm_pending_rsvp,
    decide_held_signup,
    delete_commitment,
    discard_pending_rsvp,
    export_csv,
    find_people_for_rsvp,
    get_action,
    held_signup_count,
    held_signups,
    major_actions,
    next_actions,
    next_public_action,
    open_for_signup,
    over_for_signup,
    past_actions,
    people_from_signups,
    prep_meetings_with_attendance,
    public_signup,
    rsvp_by_user,
    rsvps_visible,
    save_action,
    save_commitment,
    signup_committed,
    signup_contact,
    to_local,
    turnout,
    undo_check_in,
    upcoming_actions,
    walk_in,
)
from organizer.auth.access import staff_required
from organizer.campaigns.services import active_campaigns
from organizer.db import writes_on_get
from organizer.extensions import db
from organizer.forms import EmptyForm
from organizer.institutions.services import get_institution, institution_choices
from organizer.people.services import PhoneError, can_see_person, get_visible_person
from organizer.settings.services import get_organization
from organizer.sms import after_action
from organizer.sms.errors import MobilizationError
from organizer.sms.reminders import reminder_plan
from organizer.web import Pagination, db_int, home_page_part, page_arg, zoned_datetime

bp = Blueprint("actions", __name__)


@bp.app_template_filter("action_time")
def action_time(value, timezone: str, fmt: str = "medium") -> str:
    """A stored UTC time shown in the action's own time zone and the user's language."""
    return zoned_datetime(value, timezone, fmt)


@bp.app_template_filter("duration_minutes")
def duration_minutes(minutes: int) -> str:
    """A whole number of minutes in its largest exact unit ("1 day", "90 minutes"), in the
    user's language; format_timedelta would round 90 minutes to "2 hours"."""
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes % size == 0:
            return format_unit(minutes // size, f"duration-{unit}", length="long", locale=str(get_locale()))
    return str(minutes)


def _region() -> str:
    return get_organization().default_phone_region


def _translated(labels: dict) -> dict:
    """``labels`` (lazy strings) translated in the request's language, for a list that shows
    them on every row (a lazy string is translated again each time it is shown). Each language's
    are kept for the process: the catalogs are compiled once, its labels never change."""
    key = (id(labels), str(get_locale()))
    kept = _TRANSLATED.get(key)
    if kept is None or kept[0] is not labels:  # the dict is kept too: its id is not reused
        kept = _TRANSLATED[key] = (labels, {k: str(label) for k, label in labels.items()})
    return kept[1]


_TRANSLATED: dict[tuple[int, str], tuple[dict, dict]] = {}


# --- list and planning ------------------------------------------------------------------


@bp.get("/actions/")
@login_required
def index():
    upcoming, past = upcoming_actions(), past_actions()
    return render_template(
        "actions/index.html", upcoming=upcoming, past=past,
        counts=action_counts([a.id for a in upcoming + past]), type_labels=TYPE_LABELS,
        held_signups=held_signup_count() if current_user.is_staff else 0,
    )


@bp.route("/actions/new", methods=["GET", "POST"])
@staff_required
def new():
    form = _action_form(None)
    if form.validate_on_submit():
        try:
            action = save_action(None, _action_data(form), current_user)
            db.session.commit()
        except ActionError as error:
            db.session.rollback()
            form.ends_local.errors.append(str(error))
        else:
            flash(_("The action is planned."), "success")
            return redirect(url_for("actions.detail", action_id=action.id))
    return render_template("actions/form.html", form=form, action=None)


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(action_id: int):
    action = get_action(action_id)
    form = _action_form(action)
    if form.validate_on_submit():
        try:
            save_action(action, _action_data(form), current_user)
            db.session.commit()
        except ActionError as error:
            db.session.rollback()
            form.ends_local.errors.append(str(error))
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("actions.detail", action_id=action.id))
    return render_template("actions/form.html", form=form, action=action)


@bp.post("/actions/<int:action_id>/archive")
@staff_required
def archive(action_id: int):
    action = get_action(action_id)
    if EmptyForm().validate_on_submit():
        archive_action(action, current_user)
        db.session.commit()
        flash(_("The action was archived."), "info")
    return redirect(url_for("actions.index"))


def _action_form(action: Action | None) -> ActionForm:
    if action is not None and request.method == "GET":
        form = ActionForm(obj=action, type=action.type.value,
                          starts_local=to_local(action.starts_at, action.timezone),
                          ends_local=to_local(action.ends_at, action.timezone))
    else:
        form = ActionForm()
    if request.method == "GET" and action is None:
        form.timezone.data = get_organization().timezone
        form.campaign_id.data = request.args.get("campaign", type=db_int)
        form.prepares_for_id.data = request.args.get("prepares_for", type=db_int)
    form.timezone.choices = timezone_choices()
    form.campaign_id.choices = [("", _("No campaign"))] + [(c.id, c.name) for c in active_campaigns()]
    form.prepares_for_id.choices = [("", _("Not a prep meeting"))] + [
        (a.id, a.title) for a in major_actions() if action is None or a.id != action.id
    ]
    return form


def _action_data(form: ActionForm) -> ActionData:
    return ActionData(
        title=form.title.data, type=ActionType(form.type.data), starts_local=form.starts_local.data,
        ends_local=form.ends_local.data, timezone=form.timezone.data, campaign_id=form.campaign_id.data,
        prepares_for_id=form.prepares_for_id.data,
        location=form.location.data or "", turnout_goal=form.turnout_goal.data or 0,
        description=form.description.data,
    )


# --- the action page: commitments and RSVPs ---------------------------------------------


@bp.get("/actions/<int:action_id>")
@login_required
def detail(action_id: int):
    action = action_for_page(action_id)  # a row of what the page shows (services read its id)
    status = request.args.get("status")
    status = RsvpStatus(status) if status in {s.value for s in RsvpStatus} else None
    page = page_arg()
    per_page = current_app.config["PEOPLE_PER_PAGE"]
    listed = rsvps_visible(current_user, action, status=status, page=page, per_page=per_page)
    q = request.args.get("q", "")
    institution_form = None
    if current_user.is_staff:
        institution_form = InstitutionCommitmentForm()
        institution_form.institution_id.choices = institution_choices(_("Choose an institution"))
    commitments = commitments_of(action)
    mine = next((c for c in commitments if c.institution_id is None and c.leader_id == current_user.id), None)
    return render_template(
        "actions/detail.html", action=action, rsvps=listed.rows, status=status,
        pagination=Pagination(page=page, per_page=per_page, total=listed.total),
        commitments=commitments, institution_form=institution_form,
        leader_form=LeaderCommitmentForm(number=mine.number if mine else None, note=mine.note if mine else None),
        q=q, matches=find_people_for_rsvp(current_user, action, q), rsvp_form=RsvpForm() if q else None,
        # Translated once here: a lazy label is translated again each time a row shows it.
        type_labels=TYPE_LABELS, rsvp_labels=_translated(RSVP_LABELS), source_labels=_translated(SOURCE_LABELS),
        checked_in=listed.checked_in,
        prep_meetings=prep_meetings_with_attendance(action),
    )


@bp.post("/actions/<int:action_id>/commitments")
@staff_required
def commit_institution(action_id: int):
    action = get_action(action_id)
    form = InstitutionCommitmentForm()
    form.institution_id.choices = institution_choices(_("Choose an institution"))
    if form.validate_on_submit():
        save_commitment(action, form.number.data, current_user, institution=get_institution(form.institution_id.data),
                        committed_by_name=form.committed_by_name.data, note=form.note.data)
        db.session.commit()
        flash(_("Commitment saved."), "success")
    else:
        flash(_("Choose an institution and how many people it will bring."), "warning")
    return redirect(url_for("actions.detail", action_id=action.id) + "#commitments")


@bp.post("/actions/<int:action_id>/commitments/mine")
@login_required
def commit_own(action_id: int):
    action = get_action(action_id)
    form = LeaderCommitmentForm()
    if form.validate_on_submit():
        save_commitment(action, form.number.data, current_user, note=form.note.data)
        db.session.commit()
        flash(_("Thank you! Your commitment is saved."), "success")
    else:
        flash(_("How many people will you bring?"), "warning")
    return redirect(url_for("actions.detail", action_id=action.id) + "#commitments")


@bp.post("/actions/<int:action_id>/commitments/<int:commitment_id>/delete")
@login_required
def remove_commitment(action_id: int, commitment_id: int):
    action = get_action(action_id)
    if EmptyForm().validate_on_submit():
        delete_commitment(action, commitment_id, current_user)
        db.session.commit()
    return redirect(url_for("actions.detail", action_id=action.id) + "#commitments")


@bp.post("/actions/<int:action_id>/rsvps")
@login_required
def rsvp(action_id: int):
    action = get_action(action_id)
    form = RsvpForm()
    if form.validate_on_submit():
        person = get_visible_person(current_user, form.person_id.data)  # a leader: own people only (404)
        rsvp_by_user(action, person, RsvpStatus(form.status.data), current_user)
        db.session.commit()
        signup_committed()  # a confirmation text, if the organization wants one
        flash(_("%(name)s: %(answer)s.", name=person.display_name, answer=RSVP_LABELS[RsvpStatus(form.status.data)]),
              "success")
    return redirect(url_for("actions.detail", action_id=action.id, q=request.args.get("q") or None) + "#rsvps")


# --- check-in at the door ---------------------------------------------------------------


@bp.get("/actions/<int:action_id>/checkin")
@login_required
def checkin(action_id: int):
    action = get_action(action_id)
    q = request.args.get("q", "")
    walk_in_form = WalkInForm()
    walk_in_form.institution_id.choices = institution_choices(_("No institution"))
    return render_template(
        "actions/checkin.html", action=action, q=q, rows=checkin_search(action, current_user, q),
        count=checked_in_count(action), form=CheckInForm(), walk_in_form=walk_in_form, rsvp_labels=RSVP_LABELS,
        rsvp_labels_json=_rsvp_labels_json(),
    )


def _rsvp_labels_json() -> str:
    """The RSVP answers' labels in the user's language, for the offline page's script."""
    return json.dumps({status.value: str(label) for status, label in RSVP_LABELS.items()})


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/actions/<int:action_id>/checkin")
@login_required
def checkin_post(action_id: int):
    action = get_action(action_id)
    form = CheckInForm()
    if not form.validate_on_submit():
        abort(400)
    person = get_visible_person(current_user, form.person_id.data)
    _attendance, created = check_in(action, person, current_user)
    db.session.commit()
    count = checked_in_count(action)
    if _wants_json():
        return jsonify(checked_in=True, created=created, count=count, name=person.display_name)
    message = _("%(name)s is checked in.", name=person.display_name) if created else \
        _("%(name)s was already checked in.", name=person.display_name)
    flash(message, "success" if created else "info")
    return redirect(url_for("actions.checkin", action_id=action.id, q=request.args.get("q") or None))


@bp.post("/actions/<int:action_id>/checkin/undo")
@login_required
def checkin_undo(action_id: int):
    action = get_action(action_id)
    form = CheckInForm()
    if form.validate_on_submit() and undo_check_in(
            action, get_visible_person(current_user, form.person_id.data).id, current_user):
        db.session.commit()
        flash(_("Check-in removed."), "info")
    return redirect(url_for("actions.checkin", action_id=action.id, q=request.args.get("q") or None))


@bp.post("/actions/<int:action_id>/walk-in")
@login_required
def walk_in_post(action_id: int):
    action = get_action(action_id)
    form = WalkInForm()
    form.institution_id.choices = institution_choices(_("No institution"))
    reading = None
    if form.validate_on_submit() and (reading := form.read_phone(_region())) is None:
        try:
            _attendance, person, created = walk_in(action, WalkInData(
                first_name=form.first_name.data, last_name=form.last_name.data or "", phone=form.phone.data,
                institution_id=form.institution_id.data), current_user, region=_region())
            db.session.commit()
        except PhoneError as error:
            db.session.rollback()
            form.phone.errors.append(str(error))
        else:
            # Matched by phone to another leader's person: their record's name is not shown.
            name = person.display_name if can_see_person(current_user, person.id) else \
                f"{form.first_name.data} {form.last_name.data or ''}".strip()
            if _wants_json():
                return jsonify(checked_in=True, created=created, count=checked_in_count(action), name=name)
            flash(_("Welcome, %(name)s! Checked in.", name=name), "success")
            return redirect(url_for("actions.checkin", action_id=action.id))
    if _wants_json():
        return jsonify(checked_in=False, errors=form.errors), 400
    return render_template(
        "actions/checkin.html", action=action, q="", rows=[], count=checked_in_count(action),
        form=CheckInForm(), walk_in_form=form, rsvp_labels=RSVP_LABELS, rsvp_labels_json=_rsvp_labels_json(),
        phone_reading=reading,
    ), 400


@bp.get("/actions/<int:action_id>/checkin/roster")
@login_required
def checkin_roster_json(action_id: int):
    """The roster a check-in device keeps offline (``?q=``: the door's search, to add to it),
    with a fresh CSRF token for the next sync (a page opened from the device's cache has an old one)."""
    action = get_action(action_id)
    people = checkin_roster(action, current_user, region=_region(), q=request.args.get("q", "")[:100])
    response = jsonify(action_id=action.id, people=people, count=checked_in_count(action), csrf_token=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/actions/<int:action_id>/checkin/sync")
@login_required
def checkin_sync(action_id: int):
    """Apply the operations a device queued (CSRF token in the ``X-CSRFToken`` header)."""
    action = get_action(action_id)
    payload = request.get_json(silent=True)
    try:
        results = sync_checkin_ops(action, current_user, payload.get("ops") if isinstance(payload, dict) else None,
                                   region=_region())
    except ValueError:
        return jsonify(error="bad_request"), 400
    db.session.commit()
    return jsonify(results=results_json(results), count=checked_in_count(action))


@bp.get("/actions/checkin-sw.js")
def checkin_service_worker():
    """The check-in page's service worker, served from /actions/ so that its scope covers the
    check-in pages (a worker controls only pages under its own path)."""
    script = Path(current_app.static_folder or "static", "js", "checkin-sw.js").read_text(encoding="utf-8")
    return Response(script, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


@bp.get("/actions/<int:action_id>/sign-in-sheet")
@staff_required
def sheet(action_id: int):
    """A printable sign-in sheet: who said yes or maybe, then blank lines for walk-ins."""
    action = get_action(action_id)
    rows = [r for r in rsvps_visible(current_user, action, page=1, per_page=100_000).rows
            if r.status in (RsvpStatus.YES, RsvpStatus.MAYBE)]
    return render_template("actions/sheet.html", action=action, rows=rows, blank_lines=range(25))


# --- turnout and exports ----------------------------------------------------------------


@bp.get("/actions/<int:action_id>/turnout")
@login_required
def turnout_page(action_id: int):
    action = get_action(action_id)
    result = turnout(action, current_user)
    bars = {
        "type": "bar",
        "data": {
            "labels": [_("Goal"), _("Committed"), _("Predicted"), _("RSVP yes"), _("Checked in")],
            "datasets": [{"label": _("People"), "data": [
                result.goal, result.committed, round(result.prediction.expected), result.yes, result.attended]}],
        },
        "options": {"plugins": {"legend": {"display": False}}},
    }
    by_institution = {
        "type": "bar",
        "data": {
            "labels": [r.label for r in result.by_institution],
            "datasets": [
                {"label": _("Committed"), "data": [r.committed for r in result.by_institution]},
                {"label": _("RSVP yes"), "data": [r.yes for r in result.by_institution]},
                {"label": _("Checked in"), "data": [r.attended for r in result.by_institution]},
            ],
        },
        "options": {"indexAxis": "y"},
    }
    return render_template(
        "actions/turnout.html", action=action, t=result, bars=bars, by_institution_chart=by_institution,
        min_history=MIN_HISTORY, maybe_weight=MAYBE_WEIGHT, type_labels=TYPE_LABELS,
        reminders=[] if action.has_started else reminder_plan(action, current_app.config),
        after_form=EmptyForm(), may_ask_made_it=after.may_ask_made_it(action), follow_up_days=after.FOLLOW_UP_DAYS,
        claims=after.open_claims(action, current_user) if current_user.is_staff and action.has_started else [],
    )


# --- after the action: texts, follow-ups and "did you make it?" --------------------------


@bp.post("/actions/<int:action_id>/turnout/text/<any(no_show, first_timer, attended, made_it):which>")
@login_required
def text_turnout_list(action_id: int, which: str):
    """A draft text to one of the action's turnout lists, with a suggested message, opened for
    editing (a leader's goes to their own people)."""
    action = get_action(action_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if which == "made_it" and not after.may_ask_made_it(action):
        flash(_("“Did you make it?” can be asked in the %(days)d days after the action starts.",
                days=after.MADE_IT_DAYS), "warning")
        return redirect(url_for("actions.turnout_page", action_id=action.id))
    try:
        mobilization = after_action.draft_for_turnout(action, which, current_user, str(get_locale() or "en"))
    except MobilizationError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("actions.turnout_page", action_id=action.id))
    db.session.commit()
    flash(_("A draft with a suggested text, in the language you use here: edit it, check who gets it, then launch."),
          "success")
    return redirect(url_for("sms.edit", mobilization_id=mobilization.id))


@bp.post("/actions/<int:action_id>/turnout/follow-ups/<any(no_show, first_timer):which>")
@login_required
def add_turnout_follow_ups(action_id: int, which: str):
    """A follow-up for each person on the list (a leader's: their own people)."""
    action = get_action(action_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not action.has_started:
        flash(_("The action has not started yet."), "warning")
        return redirect(url_for("actions.turnout_page", action_id=action.id))
    result = after.add_follow_ups(action, which, current_user)
    db.session.commit()
    message = ngettext("%(num)d follow-up added.", "%(num)d follow-ups added.", result.created)
    if result.skipped:
        message += " " + ngettext("%(num)d person already had one.", "%(num)d people already had one.",
                                  result.skipped)
    flash(message, "success" if result.created else "info")
    return redirect(url_for("actions.turnout_page", action_id=action.id))


@bp.post("/actions/<int:action_id>/made-it/<int:person_id>/<any(confirm, dismiss):decision>")
@staff_required
def decide_made_it(action_id: int, person_id: int, decision: str):
    """Staff confirm (check in) or dismiss someone's "I came" reply."""
    action = get_action(action_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if after.decide_claim(action, person_id, current_user, confirm=decision == "confirm"):
        db.session.commit()
        flash(_("Checked in from their reply.") if decision == "confirm" else _("Dismissed."), "success")
    else:
        flash(_("That reply was decided already."), "info")
    return redirect(url_for("actions.turnout_page", action_id=action.id) + "#made-it")


@bp.get("/actions/<int:action_id>/<any(signin, turnout):kind>.csv")
@writes_on_get  # its audit event
@staff_required
def export(action_id: int, kind: str):
    action = get_action(action_id)
    chunks = export_csv(action, current_user, kind)
    db.session.commit()  # the audit event, before the first byte
    return Response(chunks, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=action-{action.id}-{kind}.csv"})


# --- the public sign-up page ------------------------------------------------------------


@bp.route("/signup/<token>", methods=["GET", "POST"])
def signup(token: str):
    """No login. Whatever is typed, the answer never says whether the person was already known."""
    if (happened := over_for_signup(token)) is not None:
        return render_template("actions/signup_over.html", action=happened, next_action=next_public_action(happened))
    action = open_for_signup(token)
    form = SignupForm()
    if request.method == "POST":
        config = current_app.config
        address = request.remote_addr or "unknown"
        try:
            attempt = check_signup_rate(
                action, address, signup_contact(form.phone.data, form.email.data, _region()),
                max_attempts=config["SIGNUP_MAX_ATTEMPTS"], max_per_address=config["SIGNUP_MAX_PER_ADDRESS"],
                window_seconds=config["SIGNUP_WINDOW_SECONDS"],
            )
        except SignupThrottled:
            abort(429)
        reading = None
        if form.validate_on_submit() and (reading := form.read_phone(_region())) is None:
            held = False
            if not form.website.data:  # the honeypot: a filled one gets the same page and stores nothing
                result = public_signup(action, SignupData(
                    first_name=form.first_name.data, last_name=form.last_name.data or "", phone=form.phone.data,
                    email=form.email.data, sms_consent=bool(form.sms_consent.data)),
                    region=_region(), address=address, cap=config["SIGNUP_HOURLY_CAP"])
                held = result.held is not None
                attempt.outcome = "held" if held else "accepted"
            db.session.commit()
            signup_committed()
            return render_template("actions/signup_thanks.html", action=action, name=form.first_name.data.strip(),
                                   held=held)
        db.session.commit()  # the attempt counts even when the form was wrong
        return render_template("actions/signup.html", action=action, form=form, type_labels=TYPE_LABELS,
                               phone_reading=reading)
    return render_template("actions/signup.html", action=action, form=form, type_labels=TYPE_LABELS)


@bp.get("/signup/<token>/calendar.ics")
def signup_ics(token: str):
    """Public like the sign-up page itself: while the action is open for sign-up."""
    action = open_for_signup(token)
    return _ics_response(action, url_for("actions.signup", token=token, _external=True))


@bp.get("/actions/<int:action_id>/calendar.ics")
@login_required
def calendar_ics(action_id: int):
    action = get_action(action_id)
    return _ics_response(action, url_for("actions.detail", action_id=action.id, _external=True))


def _ics_response(action: Action, url: str) -> Response:
    body = action_ics(action, host=request.host.split(":")[0], url=url)
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f"attachment; filename=action-{action.id}.ics"})


# --- staff review of sign-ups -----------------------------------------------------------


@bp.get("/actions/signups")
@staff_required
def signups_review():
    """Held sign-ups to accept or discard, and the people the sign-up page created."""
    page = page_arg()
    people_page = max(request.args.get("people_page", 1, type=int) or 1, 1)
    held, held_total = held_signups(page)
    people, people_total = people_from_signups(people_page)
    return render_template(
        "actions/signups_review.html", held=held, pagination=Pagination(page=page, per_page=50, total=held_total),
        people=people, people_total=people_total,
        people_pagination=Pagination(page=people_page, per_page=50, total=people_total),
        form=EmptyForm(),
    )


@bp.post("/actions/signups/<int:held_id>/<any(accept, discard):decision>")
@staff_required
def decide_signup(held_id: int, decision: str):
    if EmptyForm().validate_on_submit():
        result = decide_held_signup(held_id, current_user, accept=decision == "accept", region=_region())
        db.session.commit()
        if result is None:
            flash(_("Somebody already decided on this sign-up."), "info")
        elif decision == "discard":
            flash(_("The sign-up was discarded."), "info")
        else:
            signup_committed()
            if result.pending:
                flash(_("Accepted. %(name)s was already on file: their RSVP waits for their confirmation.",
                        name=result.rsvp.person.display_name), "success")
            else:
                flash(_("Accepted: %(name)s is signed up.", name=result.rsvp.person.display_name), "success")
    return redirect(url_for("actions.signups_review"))


@bp.post("/actions/<int:action_id>/rsvps/<int:rsvp_id>/<any(confirm, discard):decision>")
@staff_required
def decide_pending_rsvp(action_id: int, rsvp_id: int, decision: str):
    """Staff confirm a pending sign-up (they spoke with the person) or discard it."""
    action = get_action(action_id)
    if EmptyForm().validate_on_submit():
        if decision == "confirm":
            done = confirm_pending_rsvp(action, rsvp_id, current_user) is not None
            message = _("The sign-up is confirmed: it counts as a yes.")
        else:
            done = discard_pending_rsvp(action, rsvp_id, current_user)
            message = _("The sign-up was discarded.")
        db.session.commit()
        signup_committed()  # a confirmation text, if the organization wants one
        flash(message if done else _("This sign-up is no longer waiting for confirmation."),
              "success" if done else "info")
    return redirect(url_for("actions.detail", action_id=action.id, status=request.args.get("status") or None)
                    + "#rsvps")


@home_page_part("actions")
def home_next_actions(user) -> dict:
    """The home page's next actions: goal, committed, RSVP yes and predicted turnout."""
    return {"next": next_actions(user)}
