"""Organizer: a CRM for grassroots community organizing.

``create_app`` is the only entry point: it builds the Flask app, loads configuration,
binds the extensions and registers each area's blueprint. It writes nothing to the
database and calls no network service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from config import BASE_DIR, INSTANCE_DIR, load_config
from organizer.web import OrganizerFlask


def create_app(config_name: str | None = None, test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application for ``config_name`` (default: ``ORGANIZER_ENV``)."""
    app = OrganizerFlask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_object(load_config(config_name))
    if test_config:
        app.config.update(test_config)

    # Every area's models, so every relationship("Name") resolves whatever a request, task or
    # command imports first.
    from organizer import (
        extensions,
        models,  # noqa: F401
        submissions,
        web,
    )

    extensions.init_app(app)
    web.init_app(app)
    submissions.init_app(app)

    from organizer.actions.services import attendance_timeline
    from organizer.actions.views import bp as actions_bp
    from organizer.audit.views import bp as audit_bp
    from organizer.auth.views import bp as auth_bp
    from organizer.campaigns.views import bp as campaigns_bp
    from organizer.home.views import bp as home_bp
    from organizer.institutions.views import bp as institutions_bp
    from organizer.people.timeline import register_source
    from organizer.people.views import bp as people_bp
    from organizer.relational.services import timeline_entries as one_to_one_timeline
    from organizer.relational.views import bp as relational_bp
    from organizer.reports.views import bp as reports_bp
    from organizer.search.views import bp as search_bp
    from organizer.settings.views import bp as settings_bp
    from organizer.sms.views import bp as sms_bp

    for blueprint in (auth_bp, home_bp, people_bp, institutions_bp, settings_bp, audit_bp,
                      relational_bp, campaigns_bp, actions_bp, sms_bp, reports_bp,
                      search_bp):
        app.register_blueprint(blueprint)
    for timeline_source in (one_to_one_timeline, attendance_timeline):
        register_source(app, timeline_source)

    from organizer.people.services import register_pipeline
    from organizer.relational.services import in_stage, stages

    register_pipeline(app, condition=in_stage, stages=stages)

    from organizer.actions.services import register_signup_confirmer
    from organizer.sms.signups import ask_to_confirm_signup, send_signup_confirmations

    register_signup_confirmer(app, ask_to_confirm_signup, after_commit=send_signup_confirmations)

    from organizer.actions.services import register_rsvp_confirmer
    from organizer.sms.confirmations import confirm_signup, confirm_staff_rsvp

    register_signup_confirmer(app, confirm_signup)
    register_rsvp_confirmer(app, confirm_staff_rsvp)

    from organizer import cli

    cli.init_app(app)
    return app
