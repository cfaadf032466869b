"""Create forms submitted twice create one row: a token per rendered form, checked in one place
(before every POST that carries one). See ``services``."""

from __future__ import annotations

from flask import Flask, g, has_request_context, redirect, request
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from organizer.submissions import services


def submission_field() -> Markup:
    """The hidden input a create form renders next to ``form.hidden_tag()``."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(services.FIELD_NAME, services.new_token())


@event.listens_for(Session, "after_commit")
def _token_committed(session: Session) -> None:
    """The token went in with the view's own changes: the submission has taken effect."""
    if has_request_context() and g.get("submission_token"):
        g.submission_committed = True


@event.listens_for(Session, "after_rollback")
def _token_rolled_back(session: Session) -> None:
    """The view rolled back before committing: the token went with its changes."""
    if has_request_context() and g.get("submission_token") and not g.get("submission_committed"):
        g.submission_token = None


def init_app(app: Flask) -> None:
    """Check tokens before POST views run (after the CSRF check), record answers after, and
    offer ``submission_field`` to templates. Call after the extensions are bound."""
    from organizer.extensions import db

    app.jinja_env.globals["submission_field"] = submission_field

    @app.before_request
    def check_submission():
        if request.method != "POST":
            return None
        token = request.form.get(services.FIELD_NAME)
        if not services.valid_token(token):
            return None
        earlier = services.claim(token, request.path)
        if earlier is None:
            g.submission_token = token
            return None
        # Sent before: answer as the first time did, without running the view again.
        db.session.rollback()
        target = services.wait_for_answer(token)
        return redirect(target or request.referrer or request.path, code=303)

    @app.after_request
    def record_submission(response):
        token = g.pop("submission_token", None)
        if token and g.pop("submission_committed", False):
            location = response.location if 300 <= response.status_code < 400 else None
            try:
                services.record_answer(token, location)
            except (OperationalError, InterfaceError):
                # The change is committed and answered; a repeat will be sent to the page
                # it came from instead of the first answer's target.
                app.logger.warning("could not record the answer to a form submission", exc_info=True)
                db.session.rollback()
        return response
