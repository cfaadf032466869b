"""The search page (works without JavaScript) and its as-you-type suggestions (JSON)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user, login_required

from organizer.search.services import KINDS, MIN_QUERY, search_all

bp = Blueprint("search", __name__, url_prefix="/search")

#: Suggestions under the top bar's box: a handful of each kind is all that fits.
SUGGESTIONS_PER_KIND = 5


def _query() -> str:
    return request.args.get("q", "")[:100]


@bp.get("/")
@login_required
def index():
    q = _query()
    return render_template("search/index.html", q=q, results=search_all(current_user, q), kinds=KINDS,
                           min_query=MIN_QUERY)


@bp.get("/suggest")
@login_required
def suggest():
    results = search_all(current_user, _query(), per_kind=SUGGESTIONS_PER_KIND)
    return jsonify(results=[{"kind": hit.kind, "id": hit.id, "label": hit.label, "url": hit.url}
                            for kind in KINDS for hit in results[kind]])
