"""Texting pages (mobilizations, compose, inbox, leaders' one-at-a-time sending) and the
two Twilio webhooks."""

from __future__ import annotations

from datetime import datetime
from functools import cache, wraps
from zoneinfo import ZoneInfo

import click
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import Integer, bindparam, literal, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload
from twilio.request_validator import RequestValidator

from organizer.auth.access import admin_required, staff_required
from organizer.auth.services import staff_and_leaders
from organizer.db import paged, utcnow, writes_on_get
from organizer.extensions import csrf, db
from organizer.forms import EmptyForm
from organizer.institutions.services import institution_choices
from organizer.people.forms import LANGUAGE_CHOICES
from organizer.people.services import (
    PersonFilters,
    PhoneError,
    format_phone,
    get_visible_person,
    normalize_phone,
    phone_on_hold_condition,
    search_people,
)
from organizer.relational.services import stages as pipeline_stages
from organizer.settings.services import get_organization, neighborhoods, organization_zone, tags
from organizer.sms import (
    actions_link,
    after_action,
    charts,
    compose,
    consent,
    error_codes,
    flags,
    local_time,
    outbox,
    results,
    sending,
    verified_numbers,
)
from organizer.sms import conflicts as conflict_service
from organizer.sms import inbound as inbound_service
from organizer.sms import inbox as inbox_service
from organizer.sms import mobilizations as mobilization_service
from organizer.sms.audiences import AudienceFilter
from organizer.sms.errors import ConflictError, InboxError, MobilizationError
from organizer.sms.forms import (
    AssignForm,
    ClearFlagForm,
    ComposeForm,
    LaunchForm,
    MatchForm,
    P2PForm,
    PreviewForm,
    RemoveStateRuleForm,
    ReplyForm,
    StateRuleForm,
    TestSendForm,
    VerifyNumberForm,
)
from organizer.sms.models import (
    InboundMessage,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
    VerifiedNumber,
)
from organizer.sms.tasks import dispatch_noted, run_sweep
from organizer.web import Pagination, db_int, home_page_part, page_arg, person_page_part

bp = Blueprint("sms", __name__, url_prefix="/sms")

TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# --- webhooks -----------------------------------------------------------------------------


def _public_url() -> str:
    """The URL Twilio signed: ``PUBLIC_BASE_URL`` + path and query behind a proxy, else the
    URL as this server saw it."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if not base:
        return request.url
    query = request.query_string.decode()
    return base + request.path + (f"?{query}" if query else "")


def twilio_signed(view):
    """Refuse (403, nothing recorded) a request without a valid ``X-Twilio-Signature``."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        token = current_app.config.get("TWILIO_AUTH_TOKEN")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature or not RequestValidator(token).validate(_public_url(), request.form, signature):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _twiml() -> Response:
    return Response(TWIML_EMPTY, mimetype="text/xml")


@bp.post("/inbound")
@csrf.exempt
@twilio_signed
def inbound():
    """An incoming text: recorded once per MessageSid, acted on, answered with empty TwiML
    (any reply goes through the outbox)."""
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    sender = form.get("From", "")
    if not sid or not sender:
        abort(400)
    if not sender.startswith("+"):
        try:
            # Twilio sends E.164; no member countries here: nobody is there to choose a reading.
            sender = normalize_phone(sender, get_organization().default_phone_region, member_regions=[]) or sender
        except PhoneError:
            pass
    to, body, opt_out_type, now = form.get("To", ""), form.get("Body", ""), form.get("OptOutType"), utcnow()
    try:
        result = inbound_service.receive(sid, sender, to, body, now, opt_out_type=opt_out_type)
        opted_out = result.message is not None and result.message.outcome == "opted_out"
        # Answered only once stored: a failed commit is an error answer, never a 2xx.
        db.session.commit()
    except OperationalError:
        raise  # the database itself is away: 503, nothing can be stored (organizer.web)
    except Exception:
        # A fault in acting on the text must not lose the text: keep it for a person to read.
        db.session.rollback()
        current_app.logger.exception("inbound text %s could not be processed; kept for review", sid)
        kept = inbound_service.keep_unprocessed(sid, sender, to, body, now, opt_out_type=opt_out_type)
        opted_out = kept is not None and kept.outcome == "opted_out"
        db.session.commit()
    dispatch_noted()
    if opted_out:
        sending.wait_for_sends_in_flight(sender)
    return _twiml()


@bp.post("/status")
@csrf.exempt
@twilio_signed
def status_callback():
    """A delivery status for one of our texts (its outbox id is in the query string)."""
    form = request.form
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or not status:
        abort(400)
    error_code = form.get("ErrorCode", type=int)
    sending.apply_status_callback(sid, status, error_code, request.args.get("outbox_id", type=int), utcnow(),
                                  segments=form.get("NumSegments", type=int), price=form.get("Price"),
                                  price_unit=form.get("PriceUnit"))
    db.session.commit()
    return _twiml()


# --- mobilizations ------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    page = page_arg()
    per_page = 25
    stmt = mobilization_service.visible_mobilizations(current_user)
    one_page, total = paged(stmt.order_by(Mobilization.id.desc()), page, per_page)
    mobilizations = list(db.session.scalars(one_page.options(joinedload(Mobilization.created_by))))
    summaries = mobilization_service.progress_summaries([m.id for m in mobilizations])
    months = charts.monthly_texts(current_user, organization_zone(), utcnow())
    return render_template(
        "sms/index.html", mobilizations=mobilizations, summaries=summaries,
        pagination=Pagination(page=page, per_page=per_page, total=total),
        unread=inbox_service.unread_total(current_user),
        shared_numbers=conflict_service.open_conflict_count() if current_user.is_staff else 0,
        months=[(charts.bucket_label(m.start, "month"), m) for m in months],
        monthly_chart=charts.monthly_chart(months),
    )


def _compose_form(form_class=ComposeForm, *, with_choices: bool = True, **kwargs) -> ComposeForm:
    """The compose form; ``with_choices=False`` for the live preview, which only reads the
    values (filling seven dropdowns would cost seven queries per keystroke pause)."""
    form = form_class(**kwargs)
    if not form.text_language.data:
        form.text_language.data = str(get_locale() or "en")
    if current_user.is_leader:
        del form.owner_id
    if not with_choices:
        return form
    none = [("", "—")]
    form.institution_id.choices = institution_choices("—")
    form.neighborhood_id.choices = none + [(n.id, n.name) for n in neighborhoods()]
    form.tag_id.choices = none + [(t.id, t.name) for t in tags()]
    form.stage_id.choices = none + [(stage.id, stage.name) for stage in pipeline_stages()]
    if "owner_id" in form:
        form.owner_id.choices = none + [(u.id, u.name) for u in staff_and_leaders()]
    form.language.choices = [("", "—")] + [
        (code, _("English, or not noted") if code == "en" else label) for code, label in LANGUAGE_CHOICES[1:]
    ]
    form.text_language.choices = list(current_app.config["LANGUAGES"].items())
    form.action_id.choices = none + actions_link.action_choices(str(get_locale() or "en"))
    form.campaign_id.choices = none + actions_link.campaign_choices()
    return form


def _audience(form: ComposeForm) -> AudienceFilter:
    return AudienceFilter(
        institution_id=form.institution_id.data, neighborhood_id=form.neighborhood_id.data,
        tag_id=form.tag_id.data, stage_id=form.stage_id.data,
        owner_id=form.owner_id.data if "owner_id" in form else current_user.id,
        language=form.language.data or None, rsvp_status=form.rsvp_status.data or None,
        turnout=form.turnout.data or None, turnout_action_id=form.turnout_action_id.data,
    )


def _save(form: ComposeForm, mobilization: Mobilization | None):
    try:
        mobilization = compose.save_mobilization(
            mobilization, title=form.title.data, body=form.body.data, audience=_audience(form), actor=current_user,
            action_id=form.action_id.data, campaign_id=form.campaign_id.data, rsvp_prompt=form.rsvp_prompt.data,
            text_language=form.text_language.data,
        )
        db.session.commit()
    except MobilizationError as error:
        db.session.rollback()
        getattr(form, error.field or "body").errors.append(str(error))
        return None
    return redirect(url_for("sms.detail", mobilization_id=mobilization.id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    defaults = {}
    if request.method == "GET" and request.args.get("action_id", type=db_int):
        defaults["action_id"] = request.args.get("action_id", type=db_int)
    form = _compose_form(**defaults)
    if form.validate_on_submit():
        done = _save(form, None)
        if done:
            flash(_("Draft saved. Check the numbers, send yourself a test, then launch."), "success")
            return done
    return render_template("sms/compose.html", form=form, mobilization=None)


@bp.route("/<int:mobilization_id>/edit", methods=["GET", "POST"])
@login_required
def edit(mobilization_id: int):
    mobilization = mobilization_service.get_mobilization(current_user, mobilization_id)
    if mobilization.status is not MobilizationStatus.DRAFT:
        flash(_("Only a draft can be changed."), "warning")
        return redirect(url_for("sms.detail", mobilization_id=mobilization.id))
    if request.method == "GET":
        form = _compose_form(obj=mobilization, **mobilization.audience)
    else:
        form = _compose_form()
    if form.validate_on_submit():
        done = _save(form, mobilization)
        if done:
            flash(_("Saved."), "success")
            return done
    return render_template("sms/compose.html", form=form, mobilization=mobilization,
                           turnout_audience=after_action.audience_label(form.turnout.data, form.turnout_action_id.data))


@bp.get("/preview")
@login_required
def preview():
    """Live preview of the compose form: encoding, segments, cost, recipients (JSON)."""
    form = _compose_form(PreviewForm, formdata=request.args, with_choices=False)
    language = form.text_language.data if form.text_language.data in current_app.config["LANGUAGES"] else "en"
    draft = Mobilization()  # never added to the session: a preview writes nothing
    editing = request.args.get("mobilization_id", type=int)
    if editing:
        # Editing a draft: its author and kind decide the audience, as they will when it is saved.
        saved = mobilization_service.get_mobilization(current_user, editing)
        draft.created_by_id, draft.kind = saved.created_by_id, saved.kind
    compose.fill_draft(draft, title=form.title.data or "", body=form.body.data or "", audience=_audience(form),
                       actor=current_user, action_id=form.action_id.data, campaign_id=form.campaign_id.data,
                       rsvp_prompt=bool(form.rsvp_prompt.data), text_language=language)
    return jsonify(_preview_json(compose.preview(current_user, draft)))


def _preview_json(p: compose.Preview) -> dict:
    return {
        "sample": p.sample, "encoding": p.info.encoding, "characters": p.info.characters,
        "segments": p.info.segments, "remaining": p.info.remaining, "non_gsm": list(p.info.non_gsm_chars),
        "too_long": p.info.too_long, "recipients": p.audience.count, "matched": p.audience.matched,
        "shared": p.audience.shared,
        "excluded": {"opted_out": p.audience.opted_out, "no_phone": p.audience.no_phone,
                     "invalid_phone": p.audience.invalid_phone, "duplicate": p.audience.duplicate},
        "cost": f"{p.cost:.2f}", "error": p.error,
    }


@bp.get("/<int:mobilization_id>")
@login_required
def detail(mobilization_id: int):
    mobilization = mobilization_service.get_mobilization(current_user, mobilization_id)
    context = {
        "mobilization": mobilization,
        "progress": mobilization_service.progress(mobilization),
        "launch_form": LaunchForm(),
        "test_form": _test_form(),
        "unknown_rows": sending.stuck_rows(mobilization.id),
        "action": actions_link.action_summary(mobilization.action_id, str(get_locale() or "en")),
        "errors": results.error_breakdown(mobilization.id),
        "billing": results.billing(mobilization.id),
        "hold": _hold_text(mobilization),
    }
    if mobilization.status is MobilizationStatus.DRAFT:
        context["preview"] = compose.preview(current_user, mobilization)
    else:
        timeline = charts.mobilization_timeline(mobilization, organization_zone())
        context.update(
            timeline=timeline, timeline_chart=charts.timeline_chart(timeline),
            by_hour_chart=charts.by_hour_chart(timeline), series_labels=charts.series_labels(),
            timeline_rows=[(charts.bucket_label(start, timeline.unit), counts) for start, counts in timeline.rows],
            hour_rows=[(charts.hour_label(h), timeline.by_hour["delivered"][h], timeline.by_hour["replied"][h])
                       for h in range(24) if timeline.by_hour["delivered"][h] or timeline.by_hour["replied"][h]],
        )
    return render_template("sms/detail.html", **context)


@bp.get("/<int:mobilization_id>/progress.json")
@login_required
def progress_json(mobilization_id: int):
    mobilization = mobilization_service.get_mobilization(current_user, mobilization_id)
    p = mobilization_service.progress(mobilization)
    return jsonify({
        "status": mobilization.status.value, "total": p.total, "processed": p.processed, "percent": p.percent,
        "queued": p.queued, "sent": p.sent, "delivered": p.delivered, "failed": p.failed, "canceled": p.canceled,
        "unknown": p.unknown, "replied": p.replied, "opted_out": p.opted_out_after, "rsvped": p.rsvped,
        "paused_reason": _pause_text(mobilization), "hold": _hold_text(mobilization),
    })


def _hold_text(mobilization: Mobilization) -> str:
    """Why the mobilization's texts are not going out now and when they will, in the
    reader's language and zone ("" while they are going out)."""
    from flask_babel import format_decimal

    from organizer.web import local_datetime

    hold = results.hold_status(mobilization, utcnow())
    if hold is None:
        return ""
    when = local_datetime(hold.resumes_at, "short")
    if hold.reason == "paused":
        return _("Paused: %(count)d texts wait until someone resumes sending.", count=hold.waiting)
    if hold.reason == "scheduled":
        return _("Scheduled: sending starts %(when)s.", when=when)
    if hold.reason == "quiet_hours":
        return _("Held for quiet hours in the recipients' time zones: %(count)d texts wait; sending resumes "
                 "%(when)s.", count=hold.waiting, when=when)
    if hold.reason == "retrying":
        return _("%(count)d texts wait to be tried again after an error; the next try is %(when)s.",
                 count=hold.waiting, when=when)
    if hold.reason == "rate_limited":
        return _("Twilio asked us to slow down: sending resumes %(when)s.", when=when)
    if hold.reason == "pacing":
        return _("Sending at %(rate)s segments a second (the sender's pace): %(count)d texts left, done about "
                 "%(when)s.", rate=format_decimal(hold.details["rate"]), count=hold.waiting, when=when)
    return _("%(count)d texts wait; sending resumes %(when)s.", count=hold.waiting, when=when)


@bp.post("/<int:mobilization_id>/launch")
@login_required
def launch(mobilization_id: int):
    mobilization = mobilization_service.get_mobilization(current_user, mobilization_id)
    form = LaunchForm()
    if not form.validate_on_submit():
        flash(_("Please choose a valid time."), "danger")
        return redirect(url_for("sms.detail", mobilization_id=mobilization.id))
    schedule_at = None
    if form.schedule_at.data:
        schedule_at = form.schedule_at.data.replace(tzinfo=organization_zone()).astimezone(ZoneInfo("UTC"))
    audience = _apply(lambda: mobilization_service.launch(mobilization, current_user, schedule_at=schedule_at),
                      "danger")
    if audience is _FAILED:
        return redirect(url_for("sms.detail", mobilization_id=mobilization_id))
    dispatch_noted()
    if mobilization.kind is MobilizationKind.P2P:
        return redirect(url_for("sms.p2p", mobilization_id=mobilization.id))
    if schedule_at:
        flash(_("Scheduled: %(count)d people will get this text.", count=audience.count), "success")
    else:
        flash(_("Sending to %(count)d people.", count=audience.count), "success")
    return redirect(url_for("sms.detail", mobilization_id=mobilization.id))


_FAILED = object()


def _apply(change, level: str = "warning", errors: tuple[type[Exception], ...] = (MobilizationError, InboxError)):
    """Run a service change and commit once; on a rule the service refuses, roll back and show
    its (already translated) message. Returns the change's result, or ``_FAILED``."""
    try:
        result = change()
        db.session.commit()
    except errors as error:
        db.session.rollback()
        flash(str(error), level)
        return _FAILED
    return result


def _test_form() -> TestSendForm:
    """The test-send form offering the user's own numbers only (see ``verified_numbers.test_numbers``)."""
    region = get_organization().default_phone_region
    form = TestSendForm()
    form.test_phone.choices = [(phone, format_phone(phone, region))
                               for phone in verified_numbers.test_numbers(current_user)]
    return form


@bp.post("/<int:mobilization_id>/test")
@login_required
def test(mobilization_id: int):
    mobilization = mobilization_service.get_mobilization(current_user, mobilization_id)
    form = _test_form()
    if not form.validate_on_submit():
        flash(_("A test goes only to your own phone on file or to a number an admin verified for you."), "danger")
    elif _apply(lambda: verified_numbers.test_send(mobilization, current_user, form.test_phone.data),
                "danger") is not _FAILED:
        dispatch_noted()
        flash(_("Test text sent to %(phone)s.",
                phone=format_phone(form.test_phone.data, get_organization().default_phone_region)), "success")
    return redirect(url_for("sms.detail", mobilization_id=mobilization.id))


@bp.post("/<int:mobilization_id>/cancel")
@login_required
def cancel(mobilization_id: int):
    mobilization = mobilization_service.get_mobilization(current_user, mobilization_id)
    if EmptyForm().validate_on_submit():
        count = _apply(lambda: mobilization_service.cancel(mobilization, current_user))
        if count is not _FAILED:
            flash(_("Canceled: %(count)d texts will not be sent.", count=count), "info")
    return redirect(url_for("sms.detail", mobilization_id=mobilization.id))


@bp.post("/<int:mobilization_id>/resume")
@login_required
def resume(mobilization_id: int):
    mobilization = mobilization_service.get_mobilization(current_user, mobilization_id)
    if EmptyForm().validate_on_submit() and _apply(
            lambda: mobilization_service.resume(mobilization, current_user)) is not _FAILED:
        dispatch_noted()
        flash(_("Sending again."), "success")
    return redirect(url_for("sms.detail", mobilization_id=mobilization.id))


@bp.post("/outbox/<int:outbox_id>/<any(resend, sent):decision>")
@staff_required
def resolve_unknown(outbox_id: int, decision: str):
    row = db.session.get(OutboxMessage, outbox_id) or abort(404)
    resend = decision == "resend"
    if EmptyForm().validate_on_submit() and _apply(
            lambda: outbox.resolve_unknown(row, current_user, resend=resend)) is not _FAILED:
        dispatch_noted()
    if row.mobilization_id:
        return redirect(url_for("sms.detail", mobilization_id=row.mobilization_id))
    return redirect(url_for("sms.index"))


# --- P2P: one text at a time ----------------------------------------------------------------


@bp.route("/<int:mobilization_id>/p2p", methods=["GET", "POST"])
@login_required
def p2p(mobilization_id: int):
    mobilization = mobilization_service.get_mobilization(current_user, mobilization_id)
    if mobilization.kind is not MobilizationKind.P2P:
        abort(404)
    form = P2PForm()
    if form.validate_on_submit():
        send_next = lambda: mobilization_service.p2p_send(  # noqa: E731
            mobilization, current_user, int(form.person_id.data), skip=form.skip.data)
        row = _apply(send_next, errors=(MobilizationError, ValueError))
        if row is not _FAILED:
            dispatch_noted()
            _flash_if_held(row)
        return redirect(url_for("sms.p2p", mobilization_id=mobilization.id))
    recipient, left = (None, 0)
    if mobilization.status is MobilizationStatus.SENDING:
        recipient, left = mobilization_service.p2p_next(mobilization, current_user)
    body = None
    if recipient is not None:
        body = compose.render(compose.full_body(mobilization), {"first_name": recipient.greeting_name})
        form = P2PForm(person_id=recipient.person_id)
    return render_template("sms/p2p.html", mobilization=mobilization, recipient=recipient, left=left, body=body,
                           form=form, can_send=mobilization_service.may_send_p2p(mobilization, current_user),
                           progress=mobilization_service.progress_summaries([mobilization.id])[mobilization.id])


@bp.post("/<int:mobilization_id>/finish")
@login_required
def finish(mobilization_id: int):
    mobilization = mobilization_service.get_mobilization(current_user, mobilization_id)
    if EmptyForm().validate_on_submit():
        _apply(lambda: mobilization_service.finish_p2p(mobilization, current_user))
    return redirect(url_for("sms.detail", mobilization_id=mobilization.id))


# --- the inbox ----------------------------------------------------------------------------

INBOX_FILTERS = ("all", "mine", "unassigned", "unread", "review")


@bp.get("/inbox")
@login_required
def inbox():
    which = request.args.get("show", "all")
    if which not in INBOX_FILTERS:
        which = "all"
    page = page_arg()
    threads, total = inbox_service.inbox(current_user, which, page)
    return render_template("sms/inbox.html", threads=threads, which=which, filters=INBOX_FILTERS,
                           pagination=Pagination(page=page, per_page=50, total=total),
                           unread=inbox_service.unread_total(current_user))


@bp.get("/inbox/<int:conversation_id>")
@writes_on_get  # the thread is marked read
@login_required
def thread(conversation_id: int):
    conversation = inbox_service.get_conversation(current_user, conversation_id)
    items = inbox_service.thread(conversation)
    inbox_service.mark_read(conversation)
    db.session.commit()
    assign_form = None
    if current_user.is_staff:
        assign_form = AssignForm(assigned_to_id=conversation.assigned_to_id)
        assign_form.assigned_to_id.choices = _assign_choices(conversation)
    candidates = []
    q = request.args.get("q", "").strip()
    if current_user.is_staff and conversation.person_id is None and q:
        candidates = list(db.session.scalars(search_people(current_user, PersonFilters(q=q)).limit(10)))
    from organizer.sms import rsvp_replies

    rsvps = rsvp_replies.for_thread([i.message for i in items if i.message is not None], conversation.person_id)
    rsvp_forms = {mid: _reply_rsvp_form(mid, rsvps.actions, rsvps.preselected) for mid in rsvps.recordable}
    return render_template(
        "sms/thread.html", conversation=conversation, items=items, reply_form=ReplyForm(), assign_form=assign_form,
        reviews=inbox_service.pending_reviews(current_user, conversation), candidates=candidates, q=q,
        blocked=consent.reason_label(consent.blocked_reason(conversation.phone, conversation.person)),
        reply_rsvps=rsvps.recorded, rsvp_forms=rsvp_forms, undo_form=EmptyForm(),
        rsvp_label=_rsvp_answer_label,
        household=inbox_service.also_at_number(current_user, conversation),
    )


@bp.post("/inbox/<int:conversation_id>/reply")
@login_required
def reply(conversation_id: int):
    conversation = inbox_service.get_conversation(current_user, conversation_id)
    form = ReplyForm()
    if form.validate_on_submit():
        row = _apply(lambda: inbox_service.reply(conversation, current_user, form.body.data), "danger")
        if row is not _FAILED:
            dispatch_noted()
            if not _flash_if_held(row):
                flash(_("Reply sent."), "success")
    else:
        flash(_("Write a reply first."), "warning")
    return redirect(url_for("sms.thread", conversation_id=conversation.id))


def _flash_if_held(row: OutboxMessage) -> bool:
    """Tell the sender their text waits for staff (the number is shared across lists)."""
    if row.status is not OutboxStatus.HELD:
        return False
    flash(_("Held: this number also belongs to someone outside your list. The text goes out once staff "
            "have checked it."), "warning")
    return True


def _assign_choices(conversation) -> list[tuple]:
    return [("", _("Nobody"))] + [(u.id, u.name) for u in inbox_service.assignable_users(conversation)]


@bp.post("/inbox/<int:conversation_id>/assign")
@staff_required
def assign(conversation_id: int):
    conversation = inbox_service.get_conversation(current_user, conversation_id)
    form = AssignForm()
    form.assigned_to_id.choices = _assign_choices(conversation)
    if form.validate_on_submit():
        from organizer.auth.models import User

        assignee = db.session.get(User, form.assigned_to_id.data) if form.assigned_to_id.data else None
        inbox_service.assign(conversation, assignee, current_user)
        db.session.commit()
        flash(_("Assigned."), "success")
    else:
        flash(_("This thread can go to an organizer, or to the leader whose person it is."), "warning")
    return redirect(url_for("sms.thread", conversation_id=conversation.id))


@bp.post("/inbox/<int:conversation_id>/match")
@staff_required
def match(conversation_id: int):
    conversation = inbox_service.get_conversation(current_user, conversation_id)
    form = MatchForm()
    if form.validate_on_submit():
        person = get_visible_person(current_user, form.person_id.data)
        matched = _apply(lambda: inbox_service.match_person(conversation, person, current_user))
        if matched is not _FAILED:
            flash(_("This number is now %(name)s's.", name=person.display_name), "success")
            return redirect(url_for("sms.thread", conversation_id=matched.id))
    return redirect(url_for("sms.thread", conversation_id=conversation_id))


@bp.post("/inbox/review/<int:message_id>/<any(confirm, dismiss):decision>")
@login_required
def review(message_id: int, decision: str):
    message = db.session.get(InboundMessage, message_id) or abort(404)
    conversation = inbox_service.get_conversation(current_user, message.conversation_id)
    if EmptyForm().validate_on_submit() and message.needs_review:
        inbox_service.review_opt_out(message, current_user, confirm=decision == "confirm")
        db.session.commit()
        flash(_("Opted out: no more texts to this number.") if decision == "confirm" else _("Kept as a normal reply."),
              "success")
    return redirect(url_for("sms.thread", conversation_id=conversation.id))


# --- numbers shared across lists, verified test numbers --------------------------------------


@bp.get("/shared-numbers")
@staff_required
def conflicts():
    """Records given a phone that belongs to someone outside their holder's list: texts to
    them wait until staff decide here."""
    return render_template("sms/conflicts.html", open_conflicts=conflict_service.phone_conflicts(),
                           decided=conflict_service.phone_conflicts(decided=True, limit=20))


@bp.post("/shared-numbers/<int:conflict_id>/<any(allow, duplicate, archive):decision>")
@staff_required
def resolve_conflict(conflict_id: int, decision: str):
    conflict = conflict_service.get_phone_conflict(conflict_id)
    if EmptyForm().validate_on_submit():
        count = _apply(lambda: conflict_service.resolve_phone_conflict(conflict, decision, current_user),
                       errors=(ConflictError,))
        if count is not _FAILED:
            dispatch_noted()
            if decision == "allow":
                flash(ngettext("Allowed: %(num)d held text goes out now.", "Allowed: %(num)d held texts go out now.",
                               count), "success")
            else:
                flash(ngettext("Marked as a duplicate: %(num)d held text canceled.",
                               "Marked as a duplicate: %(num)d held texts canceled.", count), "success")
    return redirect(url_for("sms.conflicts"))


def _verify_form() -> VerifyNumberForm:
    form = VerifyNumberForm()
    form.user_id.choices = [("", "—")] + [(u.id, f"{u.name} ({u.email})") for u in staff_and_leaders()]
    return form


@bp.route("/test-numbers", methods=["GET", "POST"])
@admin_required
def test_numbers():
    """An admin verifies the numbers each user may send test texts to."""
    from organizer.auth.models import User

    form = _verify_form()
    reading = None
    if form.validate_on_submit():
        user = db.session.get(User, form.user_id.data) or abort(404)
        reading = form.read_phone(get_organization().default_phone_region)
        phone = form.phone.data  # in E.164 once read
        if reading is None and _apply(lambda: verified_numbers.verify_number(user, phone, current_user), "danger",
                    errors=(InboxError,)) is not _FAILED:
            flash(_("Verified: %(name)s may send test texts to %(phone)s.", name=user.name,
                    phone=format_phone(phone, get_organization().default_phone_region)), "success")
            return redirect(url_for("sms.test_numbers"))
    return render_template("sms/test_numbers.html", form=form, numbers=verified_numbers.verified_numbers(),
                           phone_reading=reading)


@bp.post("/test-numbers/<int:number_id>/remove")
@admin_required
def remove_test_number(number_id: int):
    number = db.session.get(VerifiedNumber, number_id) or abort(404)
    if EmptyForm().validate_on_submit():
        verified_numbers.remove_verified_number(number, current_user)
        db.session.commit()
        flash(_("Removed."), "success")
    return redirect(url_for("sms.test_numbers"))


# --- command line -------------------------------------------------------------------------


@bp.cli.command("sweep")
@click.option("--at", "at", default=None, help="Pretend it is this ISO time (UTC), for testing.")
def sweep_command(at: str | None) -> None:
    """Reconcile interrupted sends, start due mobilizations, and requeue lost work."""
    now = datetime.fromisoformat(at) if at else utcnow()
    report = run_sweep(now, force=True)
    click.echo(
        f"reconciled {report.reconciled}, requeued {report.requeued}, unknown {report.unknown}, "
        f"started {report.started}, finished {report.finished}, senders started for {len(report.to_dispatch or [])}"
    )


# --- shared-page hooks (called only by this area's partials) --------------------------------


@bp.app_template_global("sms_pause_text")
def _pause_text(mobilization: Mobilization) -> str:
    """Why a mobilization paused itself, in the reader's language (stored as "hits|codes",
    or "code:30032" for a code that pauses at the first hit)."""
    reason = mobilization.paused_reason or ""
    if reason.startswith("code:") and reason[5:].isdigit():
        rule = error_codes.rule_for(int(reason[5:]))
        return _("Twilio error %(code)s (%(title)s): every text would fail the same way. Fix it in Twilio, "
                 "then resume.", code=reason[5:], title=rule.title if rule else "")
    hits, _sep, codes = reason.partition("|")
    if not hits.isdigit():
        return mobilization.paused_reason or ""
    return _("%(count)d texts in ten minutes were filtered by carriers or rate-limited (Twilio codes %(codes)s).",
             count=int(hits), codes=codes)


def _text_status_labels() -> dict[str, str]:
    """The labels in the request's language, made once per request (a page of texts asks for
    one per text)."""
    made = g.setdefault("sms_status_labels", {})
    locale = str(get_locale())
    if locale not in made:
        made[locale] = _status_labels_now()
    return made[locale]


def _status_labels_now() -> dict[str, str]:
    return {
        # Outgoing texts: our outbox statuses.
        "queued": _("queued"), "sending": _("sending"), "sent": _("sent"), "delivered": _("delivered"),
        "undelivered": _("undelivered"), "failed": _("failed"), "canceled": _("canceled"),
        "unknown": _("outcome unknown"), "held": _("held for staff"),
        # Incoming texts: what the reply did.
        "opted_out": _("opted out"), "opted_in": _("opted back in"), "rsvp_yes": _("RSVP: yes"),
        "rsvp_no": _("RSVP: no"), "help": _("help sent"), "flagged": _("possible opt-out, to review"),
        "not_opt_out": _("reviewed: not an opt-out"),
        "rsvp_maybe": _("RSVP: maybe"), "rsvp_unsure": _("RSVP unclear: read it"),  # issue 14
        "says_came": _("says they came: for staff to confirm"), "says_did_not_come": _("says they did not come"),
    }


@bp.app_template_global("sms_status_label")
def _status_label(status: object) -> str:
    """A text's status or a reply's outcome, in the reader's language."""
    value = getattr(status, "value", status) or ""
    return _text_status_labels().get(str(value), str(value))


@person_page_part("sms")
def person_texts(user, person) -> dict:
    """The last texts with a person, their thread at their number, whether texts to them wait
    for staff (a number shared across lists) and any carrier flag, for the person page
    (``parts.sms``)."""
    conversation_id = on_hold = flag = None
    if person.phone:
        flag, conversation_id, on_hold = db.session.execute(
            _number_statement(), {"phone": person.phone, "person_id": person.id}).one()
    return {"texts": outbox.recent_texts(person.id), "conversation_id": conversation_id,
            "on_hold": bool(on_hold), "flag": flag,
            # The form only where the page shows it (a flag): a form costs a few hundred µs.
            "clear_flag_form": ClearFlagForm(phone=person.phone) if flag else None}


@cache
def _number_statement():
    """What the person page says of the person's number, in one statement built once per
    process: its carrier flag (``flags.flag_for_phone``), the person's thread at it, and whether
    texts to them there wait for staff (``outbox.is_on_hold``)."""
    from organizer.sms.models import Conversation, PhoneFlag

    phone, person_id = bindparam("phone"), bindparam("person_id", type_=Integer)
    conversation = (select(Conversation.id).where(Conversation.phone == phone, Conversation.person_id == person_id)
                    .limit(1).scalar_subquery())
    one_row = select(literal(1).label("one")).subquery()
    return (select(PhoneFlag, conversation, phone_on_hold_condition(person_id, phone))
            .select_from(one_row).outerjoin(PhoneFlag, PhoneFlag.phone == phone))


@bp.app_template_global("sms_error_action")
def _error_action(code: int | None) -> str:
    """What Organizer did about a Twilio error code, in the reader's language."""
    return error_codes.action_label(code)


# --- flagged numbers and state quiet hours ---------------------------------------------------


@bp.get("/flags")
@staff_required
def flagged():
    page = page_arg()
    per_page = 50
    rows, total = flags.flagged_numbers(page, per_page)
    return render_template("sms/flags.html", rows=rows, pagination=Pagination(page, per_page, total),
                           clear_form=ClearFlagForm())


@bp.post("/flags/clear")
@staff_required
def clear_flag():
    form = ClearFlagForm()
    if form.validate_on_submit() and flags.clear_flag(form.phone.data, current_user):
        db.session.commit()
        flash(_("Flag cleared: %(phone)s will be texted again.", phone=form.phone.data), "success")
    else:
        flash(_("That number has no flag."), "warning")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("sms.flagged"))


def _same_site(url: str | None) -> bool:
    from urllib.parse import urlsplit

    return bool(url) and urlsplit(url).netloc in ("", request.host)


@bp.route("/quiet-hours", methods=["GET", "POST"])
@admin_required
def quiet_hours():
    form = StateRuleForm()
    form.state.choices = [("", "—")] + [(code, code) for code in sorted(set(local_time.US_STATES.values()))]
    if form.validate_on_submit():
        try:
            changed = local_time.save_state_rule(current_user, form.state.data, form.allowed_from.data,
                                                 form.allowed_until.data, form.source.data or "")
        except local_time.StateRuleError as error:
            db.session.rollback()
            form.state.errors.append(str(error))
        else:
            db.session.commit()
            if changed:
                flash(_("Saved the window for %(state)s.", state=form.state.data), "success")
            return redirect(url_for("sms.quiet_hours"))
    return render_template("sms/quiet_hours.html", form=form, rules=local_time.state_rules(),
                           remove_form=RemoveStateRuleForm())


@bp.post("/quiet-hours/remove")
@admin_required
def remove_state_rule():
    form = RemoveStateRuleForm()
    rule = None
    if form.validate_on_submit():
        rule = next((r for r in local_time.state_rules() if r.state == form.state.data), None)
    if rule is None:
        flash(_("That state has no window of its own."), "warning")
    else:
        local_time.delete_state_rule(current_user, rule)
        db.session.commit()
        flash(_("Removed the window for %(state)s.", state=form.state.data), "success")
    return redirect(url_for("sms.quiet_hours"))


# --- RSVPs from replies (issue 14) -------------------------------------------------------------


def _reply_rsvp_form(message_id: int, actions, preselected: int | None = None):
    """The one-tap "Record yes / no / maybe" form under a reply (prefixed: one per reply)."""
    from organizer.sms.forms import ReplyRsvpForm

    form = ReplyRsvpForm(prefix=f"r{message_id}")
    form.action_id.choices = [(a.id, f"{a.title} ({actions_link.action_time(a, str(get_locale()))})")
                              for a in actions]
    if preselected is not None and not form.is_submitted():
        form.action_id.data = preselected
    return form


@bp.post("/inbox/replies/<int:message_id>/rsvp")
@login_required
def record_reply_rsvp(message_id: int):
    """Record the answer an organizer or the person's leader read in a reply."""
    from organizer.actions.models import RsvpStatus
    from organizer.actions.services import upcoming_actions
    from organizer.sms import rsvp_replies

    message = db.session.get(InboundMessage, message_id) or abort(404)
    conversation = inbox_service.get_conversation(current_user, message.conversation_id)  # 404 if not theirs
    form = _reply_rsvp_form(message.id, upcoming_actions())
    if form.validate_on_submit():
        from organizer.actions.models import Action

        action = db.session.get(Action, form.action_id.data) or abort(404)
        try:
            link = rsvp_replies.record_from_thread(message, action, RsvpStatus(form.status.data), current_user)
        except rsvp_replies.ReplyRsvpError as error:
            db.session.rollback()
            flash(str(error), "warning")
        else:
            db.session.commit()
            flash(_("Recorded: %(answer)s for %(action)s.", answer=_rsvp_answer_label(link.status),
                    action=action.title), "success")
    else:
        flash(_("Choose an action and an answer."), "warning")
    return redirect(url_for("sms.thread", conversation_id=conversation.id) + f"#reply-{message.id}")


@bp.post("/inbox/replies/<int:message_id>/rsvp/undo")
@login_required
def undo_reply_rsvp(message_id: int):
    """Undo the RSVP recorded from a reply: the earlier answer comes back."""
    from organizer.sms import rsvp_replies

    message = db.session.get(InboundMessage, message_id) or abort(404)
    conversation = inbox_service.get_conversation(current_user, message.conversation_id)  # 404 if not theirs
    if EmptyForm().validate_on_submit():
        link = rsvp_replies.live_link(message.id)
        try:
            if link is None:
                raise rsvp_replies.ReplyRsvpError(_("No RSVP is recorded from this text."))
            rsvp_replies.undo(link, current_user)
        except rsvp_replies.ReplyRsvpError as error:
            db.session.rollback()
            flash(str(error), "warning")
        else:
            db.session.commit()
            flash(_("Undone: the RSVP is back to what it was."), "success")
    return redirect(url_for("sms.thread", conversation_id=conversation.id) + f"#reply-{message.id}")


def _rsvp_answer_label(status: str) -> str:
    from organizer.actions.forms import RSVP_LABELS
    from organizer.actions.models import RsvpStatus

    return str(RSVP_LABELS[RsvpStatus(status)])


@home_page_part("sms")
def home_texts(user) -> dict:
    """The home page's texts: unread texts in threads assigned to the user and in every thread
    the user may read, and the paused broadcasts the user sees. Three queries."""
    return {
        "unread_mine": inbox_service.unread_total(user, assigned_to=user),
        "unread": inbox_service.unread_total(user),
        "paused": list(db.session.scalars(
            mobilization_service.visible_mobilizations(user).where(Mobilization.status == MobilizationStatus.PAUSED)
        )),
    }
