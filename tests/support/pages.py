"""Every page of the app, filled with a little of everything: the URLs (``page_urls``) with the
ids of a fixture's rows (``rows``), for the tests that visit them all, and the statements a page
runs while its template renders (``queries_while_rendering``: templates run none)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from flask import before_render_template, template_rendered
from sqlalchemy import event
from sqlalchemy.engine import Engine

# Downloads and JSON, the code step (no password typed), and a leader's own P2P texting page.
SKIP = frozenset({"static", "auth.login_code", "actions.export", "people.export", "sms.progress_json", "sms.preview",
        "sms.p2p", "actions.calendar_ics", "actions.signup_ics", "reports.equity_export", "people.import_progress",
        "people.import_progress_page",  # (exists only for a real upload: tests/people)
        "favicon",  # an image: Chromium's own viewer page for it styles itself inline
        "search.suggest",  # JSON for the top bar's box
        "relational.pipeline_network_json"})  # JSON for the network graph's script


@pytest.fixture
def rows(app, make_user, make_person, make_institution, make_action):
    """An admin, a person with a one-to-one, an institution, a campaign with two related targets, an
    action and a text mobilization with a reply: ids for every page's URL."""
    from organizer.auth.models import User
    from organizer.campaigns.models import Position, TieKind
    from organizer.campaigns.services import (
        CampaignData,
        TargetData,
        add_tie,
        put_on_map,
        save_campaign,
        save_target,
    )
    from organizer.extensions import db
    from organizer.relational.services import OneToOneData, local_today, log_one_to_one
    from organizer.sms.services import AudienceFilter, launch, receive, save_mobilization

    admin = make_user("admin")
    person = make_person(owner=admin, phone="+13125550101", notes="Line one\nline two")
    twin = make_person(owner=admin, first_name=person.first_name, last_name=person.last_name, email="twin@example.org")
    institution = make_institution(notes="Meets on Sundays")
    action = make_action(description="Bring a neighbor\nand a sign")
    with app.app_context():
        actor = db.session.get(User, admin.id)
        one = log_one_to_one(OneToOneData(held_on=local_today(), person_id=person.id, story="A story\nin lines"),
                             actor, region="US")
        campaign = save_campaign(None, CampaignData(name="Bus line 9"), actor)
        target = save_target(None, TargetData(name="Alderperson Ruiz"), actor)
        put_on_map(campaign, target, Position.UNDECIDED, 3, actor)
        # a relationship with a second target: the power map draws its line with static/js/power-map.js
        donor = save_target(None, TargetData(name="Developer Lee"), actor)
        put_on_map(campaign, donor, Position.OPPONENT, 5, actor)
        add_tie(target, donor, TieKind.DONOR, actor, outgoing=False)
        texts = save_mobilization(None, title="Hearing", body="Hi {first_name}", audience=AudienceFilter(),
                                  actor=actor)
        launch(texts, actor)
        answer = receive("SMcsp1", "+13125550101", "", "Count me in")
        db.session.commit()
        return admin, {
            "person_id": person.id, "institution_id": institution.id, "action_id": action.id,
            "one_to_one_id": one.id, "campaign_id": campaign.id, "target_id": target.id,
            "mobilization_id": texts.id, "conversation_id": answer.message.conversation_id,
            "user_id": admin.id, "token": action.signup_token, "kept_id": person.id, "other_id": twin.id,
        }


def page_urls(app, ids: dict, skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Every page's URL (not in ``SKIP`` nor ``skip``, nor the login page), with ``ids`` filled in."""
    urls = sorted(
        rule.build({arg: ids[arg] for arg in rule.arguments}, append_unknown=False)[1]
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in SKIP | skip and rule.endpoint != "auth.login"
    )
    assert len(urls) > 40
    return urls


@contextlib.contextmanager
def queries_while_rendering(app) -> Iterator[list[str]]:
    """The SQL statements run between the start and the end of rendering a template."""
    rendering, statements = [], []

    def before(conn, cursor, statement, *args):
        if rendering and not statement.lstrip().upper().startswith(("PRAGMA", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    def started(sender, template, context, **extra):
        rendering.append(template.name)

    def finished(sender, template, context, **extra):
        rendering.pop()

    event.listen(Engine, "before_cursor_execute", before)
    before_render_template.connect(started, app)
    template_rendered.connect(finished, app)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        before_render_template.disconnect(started, app)
        template_rendered.disconnect(finished, app)
