"""The audit log page, for admins."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from organizer.audit.services import recent_events, visible_details
from organizer.auth.access import admin_required
from organizer.web import Pagination, page_arg

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
    events, total = recent_events(page)
    # Sensitive old and new values only for those who may see them (the page is admin-only
    # today; this keeps it so if it ever opens to others).
    details = {e.id: visible_details(e, current_user) for e in events}
    return render_template(
        "audit/index.html", events=events, details=details, action_labels=ACTION_LABELS,
        pagination=Pagination(page=page, per_page=50, total=total),
    )
