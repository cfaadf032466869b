"""People pages: list, search, detail, create, edit, archive, assign, memberships, export, import."""

from __future__ import annotations

from pathlib import Path

import click
from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from werkzeug.utils import secure_filename

from organizer.auth.access import admin_required, staff_required
from organizer.auth.models import User
from organizer.auth.services import normalize_email, staff_and_leaders, user_choices
from organizer.db import writes_on_get
from organizer.extensions import db
from organizer.forms import EmptyForm, PlainChoices
from organizer.institutions.models import MembershipRole
from organizer.institutions.services import get_institution, institution_choices
from organizer.people.forms import (
    CONSENT_METHOD_LABELS,
    LANGUAGE_CHOICES,
    MEMBERSHIP_ROLE_LABELS,
    RACE_ETHNICITY_LABELS,
    SMS_CONSENT_LABELS,
    AssignForm,
    ConfirmImportForm,
    ImportForm,
    ImportMappingForm,
    MembershipForm,
    PersonForm,
)
from organizer.people.importing import (
    TAG_SEPARATOR,
    ImportFileError,
    ImportPlan,
    check_and_import,
    check_import,
    discard_upload,
    peek_upload,
    import_people,
    read_progress,
    save_upload,
    take_upload,
    write_progress,
)
from organizer.people.models import ImportMapping, Person, RaceEthnicity, SmsConsent
from organizer.people.presets import (
    FIELDS,
    IGNORE,
    PRESETS,
    SENSITIVE,
    save_mapping,
    saved_columns,
    saved_mappings,
)
from organizer.people.services import (
    PersonData,
    PersonError,
    OtherPhoneError,
    PersonFilters,
    PhoneError,
    add_membership,
    archive_person,
    assign_people,
    consent_history,
    create_person,
    everyone_total,
    export_csv,
    get_visible_person,
    page_of_person_lines,
    phone_sharers,
    pipeline_stages,
    remove_membership,
    restore_person,
    search_people,
    open_conflicts,
    resolve_conflict,
    update_person,
    visible_duplicates,
)
from organizer.people.duplicates import dismiss_pair, dismissed_pairs, duplicate_pairs, undo_dismissal
from organizer.people.forms import merge_form
from organizer.people.merging import (
    MERGE_FIELDS,
    STAFF_FIELDS,
    MergeError,
    can_undo,
    get_merge,
    merge_people,
    recent_merges,
    undo_deadline,
    undo_merge,
)
from organizer.people.quality import CHECKS
from organizer.people.timeline import timeline_for
from organizer.settings.services import get_organization, neighborhoods, tags
from organizer.web import Pagination, db_int, page_arg, person_page_parts

bp = Blueprint("people", __name__, url_prefix="/people")


def _filters_from_request() -> PersonFilters:
    args = request.args
    return PersonFilters(
        q=args.get("q", ""),
        neighborhood_id=args.get("neighborhood", type=db_int),
        institution_id=args.get("institution", type=db_int),
        tag_id=args.get("tag", type=db_int),
        owner_id=args.get("owner", type=db_int) if current_user.is_staff else None,
        language=args.get("language") or None,
        stage_id=args.get("stage", type=db_int),
        quality=args.get("quality") if args.get("quality") in CHECKS else None,
        archived=args.get("archived") == "1",
        sort=args.get("sort", "name"),
    )


@bp.get("/")
@login_required
def index():
    filters = _filters_from_request()
    page = page_arg()
    per_page = current_app.config["PEOPLE_PER_PAGE"]
    total = everyone_total(current_user, filters)
    listed = page_of_person_lines(
        search_people(current_user, filters, matches=total, first_rows=page * per_page), page, per_page, total=total)
    owners = user_choices() if current_user.is_staff else []
    assign_form = None
    if current_user.is_staff:
        assign_form = AssignForm()
        assign_form.owner_id.choices = [("", _("Nobody")), *owners]
    return render_template(
        "people/index.html",
        people=listed.lines,
        filters=filters,
        pagination=Pagination(page=page, per_page=per_page, total=listed.total, more=listed.more,
                              following=listed.has_next),
        neighborhoods=neighborhoods(),
        tags=tags(),
        institutions=institution_choices(),
        stages=pipeline_stages(),
        owners=owners,
        languages=LANGUAGE_CHOICES[1:],
        quality_choices=_quality_choices(),
        assign_form=assign_form,
    )


def _quality_choices() -> list[tuple[str, str]]:
    labels = {"no_phone": _("No phone"), "no_neighborhood": _("No neighborhood"),
              "no_language": _("No preferred language"), "no_race": _("Race/ethnicity not recorded"),
              "flagged": _("Number flagged by the carrier"), "opted_out": _("Opted out of texts"),
              "no_owner": _("Nobody holds the relationship"), "duplicates": _("In a likely duplicate pair")}
    return [(check, labels[check]) for check in CHECKS]


@bp.get("/export.csv")
@writes_on_get  # its audit event
@staff_required
def export():
    chunks = export_csv(current_user, _filters_from_request())
    db.session.commit()  # the audit event, before the first byte
    return Response(
        chunks, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=people.csv"}
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = _person_form()
    reading = None
    if form.validate_on_submit():
        reading = form.read_phone(_region())
        if reading is None and _no_unconfirmed_duplicates(form, None):
            try:
                person = create_person(_data(form), current_user, region=_region())
                db.session.commit()
            except PhoneError as error:
                db.session.rollback()
                _phone_error(form, error)
            else:
                flash(_("%(name)s was added.", name=person.display_name), "success")
                _warn_shared_phone(person)
                return redirect(url_for("people.detail", person_id=person.id))
    return render_template("people/form.html", form=form, person=None, phone_reading=reading)


@bp.get("/<int:person_id>")
@login_required
def detail(person_id: int):
    person = get_visible_person(current_user, person_id, for_page=True)
    membership_form = MembershipForm()
    member_of = {m.institution_id for m in person.memberships}
    membership_form.institution_id.choices = PlainChoices([("", _("Choose an institution"))] + [
        (i.id, i.name) for i in institution_choices() if i.id not in member_of])
    # The roles in the request's language once: the page draws them for each membership too.
    membership_form.role.choices = [(value, str(label)) for value, label in membership_form.role.choices]
    return render_template(
        "people/detail.html",
        person=person,
        parts=person_page_parts(current_user, person),
        timeline=timeline_for(current_user, person),
        # Who changed consent and how (staff emails, STOP texts): for staff, like organizer notes.
        consent_changes=consent_history(person) if current_user.can_see_sensitive else None,
        consent_method_labels=CONSENT_METHOD_LABELS,
        membership_form=membership_form,
        race_labels=RACE_ETHNICITY_LABELS,
        consent_labels=SMS_CONSENT_LABELS,
        language_labels=dict(LANGUAGE_CHOICES),
        role_labels=MEMBERSHIP_ROLE_LABELS,
    )


@bp.get("/conflicts")
@staff_required
def conflicts():
    """Records a leader saved with the phone or email of somebody outside their list."""
    page = page_arg()
    rows, total = open_conflicts(page)
    return render_template("people/conflicts.html", conflicts=rows,
                           pagination=Pagination(page=page, per_page=50, total=total))


@bp.get("/duplicates")
@login_required
def duplicates():
    """Likely duplicate pairs (a leader's within their own list), best first; staff also see
    how many shared phones and emails leaders' saves reported (the conflicts queue)."""
    page = page_arg()
    pairs, total = duplicate_pairs(current_user, page)
    conflicts_waiting = open_conflicts(1, 1)[1] if current_user.is_staff else 0
    return render_template("people/duplicates.html", pairs=pairs, conflicts_waiting=conflicts_waiting,
                           pagination=Pagination(page=page, per_page=50, total=total))


@bp.post("/duplicates/<int:first_id>/<int:second_id>/dismiss")
@login_required
def dismiss_duplicate(first_id: int, second_id: int):
    """"Not the same person": the pair is no longer offered to anyone (404 unless the user may
    see both people)."""
    if EmptyForm().validate_on_submit():
        dismiss_pair(current_user, first_id, second_id)
        db.session.commit()
        flash(_("Marked as two different people: the pair is no longer offered. You can undo this from "
                "the dismissed pairs."), "success")
    return redirect(url_for("people.duplicates"))


@bp.get("/duplicates/dismissed")
@login_required
def dismissed_duplicates():
    """Pairs marked as two different people (a leader's within their own list), newest first."""
    page = page_arg()
    rows, total = dismissed_pairs(current_user, page)
    return render_template("people/dismissed_duplicates.html", dismissals=rows,
                           pagination=Pagination(page=page, per_page=50, total=total))


@bp.post("/duplicates/dismissed/<int:dismissal_id>/undo")
@login_required
def undo_dismissed_duplicate(dismissal_id: int):
    """Offer a dismissed pair again (404 unless the user may see both people)."""
    if EmptyForm().validate_on_submit():
        undo_dismissal(current_user, dismissal_id)
        db.session.commit()
        flash(_("The pair is offered again as likely duplicates."), "success")
    return redirect(url_for("people.dismissed_duplicates"))


def _merge_fields(kept: Person, other: Person) -> list[str]:
    """The fields the two records disagree on that the user may choose."""
    return [name for name in MERGE_FIELDS if (current_user.is_staff or name not in STAFF_FIELDS)
            and getattr(kept, name) != getattr(other, name)]


@bp.route("/merge/<int:kept_id>/<int:other_id>", methods=["GET", "POST"])
@login_required
def merge(kept_id: int, other_id: int):
    """Compare two people and make them one; both must be in the user's list (404 otherwise)."""
    if kept_id == other_id:
        abort(404)
    kept = get_visible_person(current_user, kept_id, for_page=True)
    other = get_visible_person(current_user, other_id, for_page=True)
    fields = _merge_fields(kept, other)
    defaults = {name: "other" if getattr(kept, name) in (None, "") else "kept" for name in fields}
    form = merge_form(fields, defaults)
    if form.validate_on_submit():
        choices = {name: getattr(form, name).data or "kept" for name in fields}
        name = other.display_name
        try:
            merge_people(kept, other, choices, current_user)
        except MergeError:
            db.session.rollback()
            abort(404)
        db.session.commit()
        flash(_("%(name)s was merged into this person.", name=name), "success")
        return redirect(url_for("people.detail", person_id=kept_id))
    return render_template("people/merge.html", kept=kept, other=other, fields=fields, form=form,
                           labels=_merge_labels(), region=_region())


def _merge_labels() -> dict[str, str]:
    return {"first_name": _("First name"), "last_name": _("Last name"), "preferred_name": _("Preferred name"),
            "phone": _("Phone"), "email": _("Email"), "address": _("Address"), "neighborhood_id": _("Neighborhood"),
            "preferred_language": _("Preferred language"), "timezone": _("Time zone"), "notes": _("Notes"),
            "owner_id": _("Relationship held by")}


@bp.get("/merges")
@admin_required
def merges():
    """Merges of the last 30 days, each undoable by an admin until its deadline."""
    rows = recent_merges()
    return render_template("people/merges.html", merges=rows, can_undo=can_undo, undo_deadline=undo_deadline)


@bp.post("/merges/<int:merge_id>/undo")
@admin_required
def undo_merge_view(merge_id: int):
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            undo_merge(get_merge(merge_id), current_user)
        except MergeError:
            db.session.rollback()
            flash(_("This merge can no longer be undone (already undone, older than 30 days, or a later "
                    "merge of the same people must be undone first)."), "danger")
        else:
            db.session.commit()
            flash(_("The merge was undone: both people are back as they were."), "success")
    return redirect(url_for("people.merges"))


@bp.post("/conflicts/<int:conflict_id>/resolve")
@staff_required
def resolve_conflict_view(conflict_id: int):
    if EmptyForm().validate_on_submit() and resolve_conflict(conflict_id, current_user):
        db.session.commit()
        flash(_("Marked as resolved."), "success")
    return redirect(url_for("people.conflicts"))


@bp.route("/<int:person_id>/edit", methods=["GET", "POST"])
@login_required
def edit(person_id: int):
    person = get_visible_person(current_user, person_id, for_page=True)
    form = _person_form(person)
    reading = None
    if form.validate_on_submit():
        reading = form.read_phone(_region())
        if reading is None and _no_unconfirmed_duplicates(form, person.id):
            phone_before = person.phone
            try:
                update_person(person, _data(form), current_user, region=_region())
                db.session.commit()
            except PhoneError as error:
                db.session.rollback()
                _phone_error(form, error)
            else:
                flash(_("Saved."), "success")
                if person.phone != phone_before:
                    _warn_shared_phone(person)
                return redirect(url_for("people.detail", person_id=person.id))
    return render_template("people/form.html", form=form, person=person, phone_reading=reading)


@bp.post("/<int:person_id>/archive")
@login_required
def archive(person_id: int):
    person = get_visible_person(current_user, person_id)
    if EmptyForm().validate_on_submit():
        archive_person(person, current_user)
        db.session.commit()
        flash(_("%(name)s was archived. Their history is kept.", name=person.display_name), "info")
    return redirect(url_for("people.detail", person_id=person.id))


@bp.post("/<int:person_id>/restore")
@login_required
def restore(person_id: int):
    person = get_visible_person(current_user, person_id)
    if EmptyForm().validate_on_submit():
        restore_person(person, current_user)
        db.session.commit()
        flash(_("%(name)s is back on the lists.", name=person.display_name), "success")
    return redirect(url_for("people.detail", person_id=person.id))


@bp.post("/assign")
@staff_required
def assign():
    form = AssignForm()
    form.owner_id.choices = [("", "")] + [(u.id, u.name) for u in staff_and_leaders()]
    if not form.validate_on_submit() or not form.person_ids.data:
        flash(_("Choose people and who will hold the relationship."), "warning")
        return redirect(request.referrer or url_for("people.index"))
    from organizer.auth.models import User

    owner = db.session.get(User, form.owner_id.data) if form.owner_id.data else None
    try:
        moved = assign_people(form.person_ids.data, owner, current_user)
        db.session.commit()
    except PersonError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        flash(_("%(count)d people assigned.", count=moved), "success")
    return redirect(url_for("people.index", owner=owner.id if owner else None))


@bp.post("/<int:person_id>/memberships")
@login_required
def add_membership_view(person_id: int):
    person = get_visible_person(current_user, person_id)
    form = MembershipForm()
    form.institution_id.choices = institution_choices()
    if form.validate_on_submit():
        add_membership(person, get_institution(form.institution_id.data), MembershipRole(form.role.data), current_user)
        db.session.commit()
        flash(_("Membership saved."), "success")
    else:
        flash(_("Choose an institution."), "warning")
    return redirect(url_for("people.detail", person_id=person.id))


@bp.post("/<int:person_id>/memberships/<int:membership_id>/delete")
@login_required
def remove_membership_view(person_id: int, membership_id: int):
    person = get_visible_person(current_user, person_id)
    if EmptyForm().validate_on_submit():
        remove_membership(person, membership_id, current_user)
        db.session.commit()
    return redirect(url_for("people.detail", person_id=person.id))


IMPORT_SESSION_KEY = "people_import"
IMPORT_ERRORS_SHOWN = 200
IMPORT_ROWS_SHOWN = 20


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_csv():
    """Upload a CSV: its columns are matched to fields (another tool's layout is recognized) and
    every row checked; the preview shows both. Nothing is written yet."""
    form = ImportForm()
    if current_user.is_staff:
        form.owner_id.choices = [("", _("Nobody yet"))] + [(u.id, u.name) for u in staff_and_leaders()]
    else:
        del form.owner_id  # a leader's import is always their own list
    if form.validate_on_submit():
        data = form.file.data.read(current_app.config["PEOPLE_IMPORT_MAX_BYTES"] + 1)
        file_name = secure_filename(form.file.data.filename or "") or "people.csv"
        if current_app.config["PEOPLE_IMPORT_BACKGROUND_BYTES"] < len(data) <= \
                current_app.config["PEOPLE_IMPORT_MAX_BYTES"]:
            owner_id = form.owner_id.data if "owner_id" in form else current_user.id
            return redirect(url_for("people.import_progress_page", token=_import_in_background(data, file_name, owner_id)))
        try:
            plan = _check_import(data)
        except ImportFileError as error:
            form.file.errors.append(str(error))
        else:
            folder = _import_folder()
            previous = session.pop(IMPORT_SESSION_KEY, None)
            if previous:
                discard_upload(folder, previous.get("token", ""))
            owner_id = form.owner_id.data if "owner_id" in form else current_user.id
            # Kept even when rows have errors: a different mapping may be all the file needs.
            token = save_upload(folder, data)
            session[IMPORT_SESSION_KEY] = {"token": token, "file": file_name, "owner_id": owner_id,
                                           "user_id": current_user.id, "mapping": plan.mapping,
                                           "preset": plan.source}
            return _preview(plan, file_name, owner_id, token)
    return render_template(
        "people/import.html", form=form, tag_separator=TAG_SEPARATOR,
        max_rows=current_app.config["PEOPLE_IMPORT_MAX_ROWS"],
        max_megabytes=current_app.config["PEOPLE_IMPORT_MAX_BYTES"] / 1_000_000,
        background_megabytes=current_app.config["PEOPLE_IMPORT_BACKGROUND_BYTES"] / 1_000_000,
        presets=PRESETS.values(),
    )


@bp.post("/import/mapping")
@login_required
def import_mapping():
    """Change which field each column fills (or start again from a preset or a saved mapping),
    optionally save the mapping under a name, and preview the file again. Writes no person."""
    form = ImportMappingForm()
    pending = session.get(IMPORT_SESSION_KEY) or {}
    data = None
    if form.validate_on_submit() and pending.get("token") == form.upload.data \
            and pending.get("user_id") == current_user.id:
        data = peek_upload(_import_folder(), form.upload.data)
    if data is None:
        flash(_("That upload has expired or was already imported. Please upload the file again."), "warning")
        return redirect(url_for("people.import_csv"))
    choice = form.preset.data or ""
    saved = None
    if form.use_preset.data:
        mapping = None
        if choice.startswith("saved:"):
            saved_id = choice.removeprefix("saved:")
            found = db.session.get(ImportMapping, db_int(saved_id)) if saved_id.isdigit() and len(saved_id) < 10 \
                else None
            saved = saved_columns(found) if found else None
            choice = "file"
        elif choice not in PRESETS:
            choice = ""  # automatic: recognized from the headers again
    else:
        mapping = [entry.data or IGNORE for entry in form.columns]
        choice = pending.get("preset", "file")
    try:
        plan = _check_import(data, mapping=mapping, preset=choice or None, saved=saved)
    except ImportFileError as error:
        flash(str(error), "danger")
        plan = None
    if plan is None:
        # The file is fine; the mapping is not (no first name, two columns for one field).
        return _preview(_check_import(data, mapping=pending.get("mapping"), preset=pending.get("preset")),
                        pending.get("file", ""), pending.get("owner_id"), form.upload.data)
    if form.save_as.data and form.save_as.data.strip():
        save_mapping(current_user, form.save_as.data, plan.header, plan.mapping)
        db.session.commit()
        flash(_("The mapping was saved as “%(name)s”.", name=form.save_as.data.strip()), "success")
    session[IMPORT_SESSION_KEY] = {**pending, "mapping": plan.mapping, "preset": plan.source}
    return _preview(plan, pending.get("file", ""), pending.get("owner_id"), form.upload.data)


@bp.post("/import/confirm")
@login_required
def import_confirm():
    """Write the previewed upload, checked again through the mapping shown, in one transaction."""
    form = ConfirmImportForm()
    pending = session.get(IMPORT_SESSION_KEY) or {}
    data = None
    if form.validate_on_submit() and pending.get("token") == form.token.data \
            and pending.get("user_id") == current_user.id:
        data = take_upload(_import_folder(), form.token.data)
    session.pop(IMPORT_SESSION_KEY, None)
    if data is None:
        flash(_("That upload has expired or was already imported. Please upload the file again."), "warning")
        return redirect(url_for("people.import_csv"))
    owner = None
    if current_user.is_staff and pending.get("owner_id"):
        owner = db.session.get(User, pending["owner_id"])
        if owner is None or not owner.active:
            flash(_("That account is not active."), "danger")
            return redirect(url_for("people.import_csv"))
    try:
        plan = _check_import(data, mapping=pending.get("mapping"), preset=pending.get("preset"))
    except ImportFileError as error:  # only if the limits changed since the preview
        flash(str(error), "danger")
        return redirect(url_for("people.import_csv"))
    if not plan.ok or not (plan.rows or plan.existing):
        # The lists or the people changed since the preview: show what the file would do now.
        return _preview(plan, pending.get("file", ""), pending.get("owner_id"), "")
    added = import_people(current_user, plan, owner=owner, file_name=pending.get("file", ""))
    db.session.commit()
    message = ngettext("%(num)d person was added.", "%(num)d people were added.", added)
    if plan.skipped:
        message += " " + ngettext("%(num)d was already in Organizer: only what was missing was filled in.",
                                  "%(num)d were already in Organizer: only what was missing was filled in.",
                                  plan.skipped)
    if plan.to_resolve:
        message += " " + ngettext("%(num)d was added without a phone: the number is valid in more than one of your "
                                  "countries (%(names)s). Add it on their page.",
                                  "%(num)d were added without a phone: the numbers are valid in more than one of "
                                  "your countries (%(names)s). Add them on their pages.", len(plan.to_resolve),
                                  names=", ".join(item.name for item in plan.to_resolve[:10]))
    flash(message, "success")
    return redirect(url_for("people.index", sort="newest"))


@bp.get("/import/<token>")
@login_required
def import_progress_page(token: str):
    """A large import's progress (the page polls ``import_progress``), then its outcome."""
    progress = _own_progress(token)
    return render_template("people/import_progress.html", token=token, progress=progress,
                           errors_shown=IMPORT_ERRORS_SHOWN)


@bp.get("/import/<token>/progress")
@login_required
def import_progress(token: str):
    """A large import's progress as JSON: ``state`` and, while importing, ``done`` of ``total``."""
    progress = _own_progress(token)
    return jsonify({key: progress.get(key) for key in ("state", "done", "total", "added")})


def _own_progress(token: str) -> dict:
    """:raise NotFound: for an unknown token or someone else's import."""
    progress = read_progress(_import_folder(), token)
    if progress is None or progress.get("user_id") != current_user.id:
        abort(404)
    return progress


def _import_in_background(data: bytes, file_name: str, owner_id: int | None) -> str:
    """Keep the upload and hand it to the worker; returns the token its progress is under."""
    from organizer.people.tasks import import_people_file
    from organizer.tasks import huey

    folder = _import_folder()
    token = save_upload(folder, data)
    write_progress(folder, token, user_id=current_user.id, file=file_name, state="queued")
    args = (str(folder), token, current_user.id, owner_id if current_user.is_staff else None, file_name,
            _region(), current_app.config["PEOPLE_IMPORT_MAX_BYTES"], current_app.config["PEOPLE_IMPORT_MAX_ROWS"],
            IMPORT_ERRORS_SHOWN)
    if huey.immediate or current_app.config.get("HUEY_IMMEDIATE"):
        import_people_file.call_local(*args)
    else:
        import_people_file(*args)
    return token


def _check_import(data: bytes, **mapping) -> ImportPlan:
    return check_import(current_user, data, region=_region(),
                        max_bytes=current_app.config["PEOPLE_IMPORT_MAX_BYTES"],
                        max_rows=current_app.config["PEOPLE_IMPORT_MAX_ROWS"], **mapping)


def _import_folder() -> Path:
    return Path(current_app.config["PEOPLE_IMPORT_DIR"])


def _preview(plan: ImportPlan, file_name: str, owner_id: int | None, token: str):
    """The mapping page: each column with its field and samples, what the mapping means, the
    errors or the first rows, and the button that imports (only when the file is ready)."""
    owner = db.session.get(User, owner_id) if owner_id else None
    ready = plan.ok and bool(plan.rows or plan.existing) and bool(token)
    mapping_form = ImportMappingForm(formdata=None, upload=token,
                                     preset=plan.preset.key if plan.preset else "")
    choices = [(key, str(label)) for key, label in FIELDS.items()
               if current_user.can_see_sensitive or key not in SENSITIVE]
    for value in plan.mapping:
        mapping_form.columns.append_entry(value)
        mapping_form.columns[-1].choices = choices
    mapping_form.preset.choices = ([("", _("Recognize from the headers"))]
                                   + [(p.key, p.name) for p in PRESETS.values()]
                                   + [(f"saved:{m.id}", m.name) for m in saved_mappings()])
    return render_template(
        "people/import_preview.html", plan=plan, file_name=file_name, owner=owner,
        confirm_form=ConfirmImportForm(token=token if ready else ""), ready=ready, mapping_form=mapping_form,
        errors_shown=IMPORT_ERRORS_SHOWN, rows_shown=IMPORT_ROWS_SHOWN, consent_labels=SMS_CONSENT_LABELS,
        language_labels=dict(LANGUAGE_CHOICES), field_labels=FIELDS,
    )


@bp.cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "by_email", required=True, help="Email of the account doing the import (audit, created by).")
@click.option("--owner", "owner_email", default=None,
              help="Email of the user who will hold the relationships (ignored when --by is a leader).")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None,
              help="The tool whose export this is (default: recognized from the headers).")
@click.option("--map", "map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help='A JSON file {"column header": "field"} (fields: ' + ", ".join(FIELDS) + ").")
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
def import_command(path: Path, by_email: str, owner_email: str | None, preset: str | None, map_file: Path | None,
                   dry_run: bool) -> None:
    """Import people from a CSV file, with the same checks and mappings as the import page."""
    import json

    from sqlalchemy import select

    def account(email: str) -> User:
        user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
        if user is None or not user.active:
            raise click.ClickException(f"no active account {email}")
        return user

    actor = account(by_email)
    owner = account(owner_email) if owner_email else None
    saved = None
    if map_file is not None:
        try:
            saved = json.loads(map_file.read_text(encoding="utf-8-sig"))
        except ValueError as error:
            raise click.ClickException(f"{map_file.name} is not JSON: {error}") from None
        if not isinstance(saved, dict) or any(v not in FIELDS for v in saved.values()):
            raise click.ClickException(f"{map_file.name} must map column headers to fields: {', '.join(FIELDS)}")
    limits = {"region": _region(), "max_bytes": current_app.config["PEOPLE_IMPORT_MAX_BYTES"],
              "max_rows": current_app.config["PEOPLE_IMPORT_MAX_ROWS"], "preset": preset, "saved": saved}
    try:
        if dry_run:
            plan, added = check_import(actor, path, **limits), 0
        else:  # written as it is checked (PostgreSQL), nothing kept unless every row is good
            plan, added = check_and_import(actor, path, owner=owner, file_name=path.name, **limits)
    except ImportFileError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"layout: {plan.preset.name if plan.preset else 'generic'}")
    for name, target in zip(plan.header, plan.mapping, strict=True):
        click.echo(f"  {name} -> {target}")
    for error in plan.errors:
        click.echo(f"line {error.line}, {error.column}: {error.message}")
    if plan.notes_ignored:
        click.echo("the notes and race/ethnicity columns were ignored (they are for staff)")
    if plan.new_tags:
        click.echo(f"new tags: {', '.join(plan.new_tags)}")
    for match in plan.existing:
        click.echo(f"line {match.line}: already in Organizer as {match.name} (#{match.person_id})")
    for item in plan.to_resolve:
        readings = " or ".join(c.e164 for c in item.readings)
        click.echo(f"line {item.line}: phone {item.typed!r} could be {readings}; {item.name} is added without it")
    if not plan.ok:
        raise click.ClickException(f"{len(plan.errors)} errors; nothing was imported")
    click.echo(f"without a phone to text: {plan.without_phone}; declined texts: {plan.opted_out}")
    if dry_run:
        click.echo(f"would add {len(plan.rows)}, already in Organizer {plan.skipped}")
        return
    db.session.commit()
    click.echo(f"added {added}, already in Organizer {plan.skipped}")


# --- helpers ----------------------------------------------------------------------------


def _region() -> str:
    return get_organization().default_phone_region


def _person_form(person: Person | None = None) -> PersonForm:
    """The person form with its choices, minus the fields this user may not set."""
    if person is not None and request.method == "GET":
        form = PersonForm(obj=person, tag_ids=[t.id for t in person.tags], sms_consent=person.sms_consent.value)
        # ``obj`` wins over keyword values in WTForms, and ``person.race_ethnicities`` holds rows,
        # not the values the checkboxes compare: set the stored answers so they show ticked.
        form.race_ethnicities.data = [str(value) for value in person.race_ethnicity_values]
    else:
        form = PersonForm()
    form.neighborhood_id.choices = [("", "—")] + [(n.id, n.name) for n in neighborhoods()]
    form.tag_ids.choices = [(t.id, t.name) for t in tags()]
    if current_user.is_staff:
        form.owner_id.choices = [("", _("Nobody yet"))] + [(u.id, u.name) for u in staff_and_leaders()]
    else:
        del form.owner_id
    if not current_user.can_see_sensitive:
        del form.race_ethnicities
        del form.notes
    return form


def _phone_error(form: PersonForm, error: PhoneError) -> None:
    if isinstance(error, OtherPhoneError):
        form.other_phones.errors.append(_("“%(value)s” is not a valid phone number.", value=str(error)))
    else:  # what to add, when the number reads in another country ("add the country code...")
        form.phone.errors.append(str(error) or _("This is not a valid phone number."))


def _data(form: PersonForm) -> PersonData:
    return PersonData(
        first_name=form.first_name.data,
        last_name=form.last_name.data or "",
        preferred_name=form.preferred_name.data,
        phone=form.phone.data,
        email=form.email.data,
        address=form.address.data,
        city=form.city.data or "",
        postal_code=form.postal_code.data or "",
        other_phones=form.other_phones.data or "",
        neighborhood_id=form.neighborhood_id.data,
        preferred_language=form.preferred_language.data or None,
        timezone=form.timezone.data or None,
        tag_ids=form.tag_ids.data or [],
        owner_id=form.owner_id.data if "owner_id" in form else None,
        race_ethnicities=[RaceEthnicity(v) for v in form.race_ethnicities.data or []]
        if "race_ethnicities" in form else None,
        notes=(form.notes.data or "") if "notes" in form else None,
        sms_consent=SmsConsent(form.sms_consent.data),
    )


def _warn_shared_phone(person: Person) -> None:
    """A household may share a phone: saved, with a warning naming the others the user may see.
    People outside a leader's list are not hinted at, not even without a name (issue 9: the
    warning reveals nothing about them); staff see the conflict instead."""
    sharers = phone_sharers(current_user, person)
    if not sharers:
        return
    if sharers.visible:
        links = Markup(", ").join(
            Markup('<a href="{}">{}</a>').format(url_for("people.detail", person_id=other.id), other.display_name)
            for other in sharers.visible)
        flash(Markup(escape(_("This is also the phone of: "))) + links
              + Markup(escape(_(". Texts to this number go once, addressed to everyone who shares it."))), "warning")


def _no_unconfirmed_duplicates(form: PersonForm, exclude_id: int | None) -> bool:
    """Warn (once) when the email already belongs to someone the user may see, with links to
    them. Somebody outside a leader's list is not mentioned at all: saving opens a conflict for
    staff instead (``note_hidden_duplicates``). A shared phone is not asked about: households
    share phones, so it is saved with a warning (``_warn_shared_phone``)."""
    if form.confirm_duplicate.data:
        return True
    duplicates = visible_duplicates(current_user, None, form.email.data, exclude_id)
    if not duplicates:
        return True
    parts = []
    for other in duplicates:
        url = url_for("people.detail", person_id=other.id)
        parts.append(Markup('<a href="{}">{}</a>').format(url, other.display_name))
    flash(
        Markup(escape(_("This email already belongs to: "))) + Markup(", ").join(parts)
        + Markup(escape(_(". Open that record, or tick “Save anyway” if this is a different person."))),
        "warning",
    )
    form.confirm_duplicate.errors.append(_("Please confirm this is a different person."))
    return False
