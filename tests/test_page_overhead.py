"""The fixed cost of a page: the person and action pages run the same queries whatever the person
or the action holds, templates run none, translations are looked up once per request without
losing a forced or changed language, and the institution picker is drawn as WTForms draws it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import before_render_template, template_rendered
from sqlalchemy import event
from sqlalchemy.engine import Engine

from organizer.extensions import db

#: The statements each page runs today, the signed-in user and the organization row included
#: (on SQLite; PostgreSQL has one fewer, no ``BEGIN IMMEDIATE``): the pages must not grow beyond
#: them, whatever the person or the action holds. The action page's count is with a search.
PERSON_PAGE_QUERIES = 22
ACTION_PAGE_QUERIES = 11


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


def _grow_person(app, person, organizer, leader, n, institution_names):
    """``n`` more tags, memberships, one-to-ones (assessed), stage moves and attendances."""
    from organizer.actions.models import Action, ActionType, Attendance
    from organizer.auth.models import User
    from organizer.db import utcnow
    from organizer.institutions.models import Institution, InstitutionType, Membership
    from organizer.people.models import Person
    from organizer.relational.models import Stage
    from organizer.relational.services import (
        OneToOneData,
        local_today,
        log_one_to_one,
        move_person,
        stages,
    )
    from organizer.settings.models import Tag

    with app.app_context():
        row = db.session.get(Person, person.id)
        today = local_today()
        for _ in range(n):
            i = next(institution_names)
            institution = Institution(name=f"Church {i}", type=InstitutionType.CONGREGATION)
            db.session.add(institution)
            db.session.flush()
            db.session.add(Membership(person_id=person.id, institution_id=institution.id))
            row.tags.append(Tag(name=f"Tag {i}"))
            for holder in (organizer, leader):
                log_one_to_one(OneToOneData(held_on=today - timedelta(days=i), person_id=person.id, assessment=4,
                                            self_interest="Housing"), db.session.get(User, holder.id), region="US")
            all_stages = stages()
            stage = db.session.get(Stage, all_stages[i % len(all_stages)].id)
            move_person(row, stage, db.session.get(User, organizer.id))
            starts = utcnow() - timedelta(days=i + 1)
            action = Action(title=f"Hearing {i}", type=ActionType.HEARING, starts_at=starts,
                            ends_at=starts + timedelta(hours=2), timezone="America/Chicago")
            db.session.add(action)
            db.session.flush()
            db.session.add(Attendance(action_id=action.id, person_id=person.id))
        db.session.commit()


def test_person_page_runs_the_same_queries_however_much_the_person_has(
        app, make_user, make_person, login_as, count_queries):
    from itertools import count

    from organizer.auth.models import User

    organizer, leader = make_user("organizer"), make_user("leader")
    own = make_person(owner=leader)
    with app.app_context():  # the leader's own record: the network part finds their meetings
        db.session.get(User, leader.id).person_id = own.id
        db.session.commit()
    person = make_person(owner=leader, phone="+13125550100")
    client = login_as(organizer).client
    names = count(1)
    counts = []
    for n in (1, 6):
        _grow_person(app, person, organizer, leader, n, names)
        counts.append(_queries_of(app, client, count_queries, f"/people/{person.id}"))
    assert counts[0] == counts[1] and counts[1] <= PERSON_PAGE_QUERIES, counts


def _queries_of(app, client, count_queries, url: str) -> int:
    """How many statements a view of ``url`` runs, after a first view (the session's user is
    loaded on every request anyway); none of them may come from a template."""
    client.get(url)
    with count_queries() as q, queries_while_rendering(app) as in_templates:
        page = client.get(url)
    assert page.status_code == 200
    assert in_templates == [], "templates ran queries"
    return q.count


def test_action_page_runs_the_same_queries_however_many_answered(
        app, make_user, make_person, make_action, make_institution, add_rsvp, login_as, count_queries):
    from organizer.actions.services import save_commitment
    from organizer.auth.models import User
    from organizer.institutions.models import Institution

    staff, leader = make_user("organizer"), make_user("leader")
    action, prep = make_action(days=3), make_action(days=1, title="Prep")
    with app.app_context():
        from organizer.actions.models import Action

        db.session.get(Action, prep.id).prepares_for_id = action.id
        db.session.commit()
    client = login_as(staff).client
    counts = []
    for n in (2, 14):
        for i in range(n):
            person = make_person(owner=leader)
            add_rsvp(action, person, "yes" if i % 3 else "maybe", came=i % 2 == 0, recruited_by=leader)
            add_rsvp(prep, person, "yes", came=i % 2 == 1)
            institution = make_institution()
            with app.app_context():
                save_commitment(db.session.get(Action, action.id), i + 1, db.session.get(User, staff.id),
                                institution=db.session.get(Institution, institution.id))
                db.session.commit()
        counts.append(_queries_of(app, client, count_queries, f"/actions/{action.id}?q=pat"))
    assert counts[0] == counts[1] and counts[1] <= ACTION_PAGE_QUERIES, counts


@pytest.mark.parametrize("path", ["/", "/account", "/institutions/"])
def test_shared_pages_run_no_queries_from_templates(app, make_user, make_person, login_as, path):
    client = login_as(make_user("admin")).client  # the admin's menu includes every area's entries
    make_person()
    client.get(path)
    with queries_while_rendering(app) as in_templates:
        assert client.get(path).status_code == 200
    assert in_templates == []


def test_a_forced_or_refreshed_language_is_honoured_after_the_catalog_was_looked_up(app):
    from flask_babel import force_locale, gettext, refresh

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert gettext("Log out") == "Log out"
        with force_locale("es"):
            assert gettext("Log out") == "Cerrar sesión"
            assert app.jinja_env.from_string("{{ _('Log out') }}").render() == "Cerrar sesión"
        assert gettext("Log out") == "Log out"
        assert app.jinja_env.from_string("{{ _('Log out') }}").render() == "Log out"
        refresh()  # what a view calls after changing the language: the catalog is found again
        with force_locale("es"):
            refresh()
            assert gettext("Log out") == "Cerrar sesión"


def test_the_picker_draws_its_options_as_wtforms_does(app, make_institution):
    from wtforms import widgets

    from organizer.people.forms import MembershipForm

    with app.test_request_context("/"):
        form = MembershipForm(meta={"csrf": False})
        form.institution_id.choices = [("", "Choose an institution"), (3, "Saint <Mark> & \"Paul\""), (7, "Bethel")]
        picker = form.institution_id(class_="form-select")
        assert picker == widgets.Select()(form.institution_id, class_="form-select")
        assert '<option value="3">Saint &lt;Mark&gt; &amp; &#34;Paul&#34;</option>' in picker
        form.institution_id.data = 7
        assert form.institution_id() == widgets.Select()(form.institution_id)
        assert '<option selected value="7">Bethel</option>' in form.institution_id()


def test_hook_templates_are_those_the_areas_have_in_order(app):
    from organizer.web import area_templates

    with app.app_context():
        assert area_templates("_person_panels.html") == ["relational/_person_panels.html", "sms/_person_panels.html"]
        assert area_templates("_nav_admin.html") == ["relational/_nav_admin.html"]
        assert area_templates("_nothing_here.html") == []
