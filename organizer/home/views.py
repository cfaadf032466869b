"""The home page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from organizer.home.services import home_counts
from organizer.web import home_page_parts

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    return render_template("home/index.html", counts=home_counts(current_user), parts=home_page_parts(current_user))
