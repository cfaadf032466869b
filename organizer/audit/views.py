"""The audit log page, for admins."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from organizer.audit.services import recent_events
from organizer.auth.access import admin_required
from organizer.web import Pagination

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.get("/")
@admin_required
def index():
    page = request.args.get("page", 1, type=int) or 1
    events, total = recent_events(max(page, 1))
    return render_template(
        "audit/index.html", events=events, pagination=Pagination(page=page, per_page=50, total=total)
    )
