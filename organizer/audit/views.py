"""The audit log page, for admins."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from organizer.audit.services import EventFilter, recent_events, recorded_kinds, visible_details
from organizer.auth.access import admin_required
from organizer.auth.services import staff_and_leaders
from organizer.settings.services import get_organization
from organizer.web import Pagination, date_arg, db_int, page_arg

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

# Actions other areas record show as they are until they are named here.
ACTION_LABELS = {
    "create": _l("created"),
    "update": _l("changed"),
    "archive": _l("archived"),
    "restore": _l("restored"),
    "export": _l("exported"),
    "assign": _l("assigned"),
    "membership": _l("membership saved"),
    "membership_removed": _l("membership removed"),
}


@bp.get("/")
@admin_required
def index():
    page = page_arg()
    where = EventFilter(
        user_id=request.args.get("user", type=db_int),
        action=request.args.get("action", "").strip()[:40] or None,
        object_type=request.args.get("record", "").strip()[:40] or None,
        object_id=request.args.get("record_id", type=db_int),
        start=date_arg("start"),
        end=date_arg("end"),
        timezone=get_organization().timezone,
    )
    events, total = recent_events(page, where=where)
    actions, kinds = recorded_kinds()
    # Sensitive old and new values only for those who may see them (the page is admin-only
    # today; this keeps it so if it ever opens to others).
    details = {e.id: visible_details(e, current_user) for e in events}
    return render_template(
        "audit/index.html", events=events, details=details, action_labels=ACTION_LABELS,
        where=where, users=staff_and_leaders(),
        action_options=[(action, ACTION_LABELS.get(action, action)) for action in actions],
        kind_options=[(kind, kind) for kind in kinds],
        pagination=Pagination(page=page, per_page=50, total=total),
    )
