"""The fixed cost of a page: the person and action pages run the same queries whatever the person
or the action holds, templates run none, translations are looked up once per request without
losing a forced or changed language, and the institution picker is drawn as WTForms draws it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from organizer.extensions import db
from tests.support.pages import queries_while_rendering

#: The statements each page runs today, the signed-in user and the organization row included
#: (on SQLite; PostgreSQL has one fewer, no ``BEGIN IMMEDIATE``): the pages must not grow beyond
#: them, whatever the person or the action holds. The action page's count is with a search.
#: The person page: the user with the organization, the person and their tags, race/ethnicity
#: and memberships, the institution picker, their stage and the stages, the network (two), the
#: assessments, their number's flag, thread and hold (one), their last texts, the timeline's
#: one-to-ones, stage moves and attendances, the consent history (staff).
PERSON_PAGE_QUERIES = 18
#: Any page's own cost, as ``/account`` shows it: the user with the organization (one statement)
#: and the account's recovery codes left.
ACCOUNT_PAGE_QUERIES = 3
ACTION_PAGE_QUERIES = 11


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


def test_a_page_reads_the_user_and_the_organization_in_one_statement(app, make_user, login_as, count_queries):
    client = login_as(make_user("organizer")).client
    assert _queries_of(app, client, count_queries, "/account") <= ACCOUNT_PAGE_QUERIES
    with count_queries() as q:
        client.get("/account")
    assert not [s for s in q.statements if "FROM organization" in s and "users" not in s], \
        "the organization row was read again"


def test_the_main_menu_is_the_users_own_in_their_language(app, make_user, login_as):
    """The menu is drawn once per language and role: each user still gets their own."""
    from flask import url_for

    pages = {}
    for role in ("leader", "organizer", "admin"):
        actions = login_as(make_user(role))
        for language in ("en", "es", "en"):
            actions.post("/account/language", {"locale": language})
            pages[role, language] = actions.client.get("/account").get_data(as_text=True)
    with app.test_request_context():
        users, reports = url_for("auth.users"), url_for("reports.equity")
    assert "My people" in pages["leader", "en"] and ">People<" not in pages["leader", "en"]
    assert ">People<" in pages["organizer", "en"] and "My people" not in pages["organizer", "en"]
    assert reports not in pages["leader", "en"] and reports in pages["organizer", "en"]
    assert users in pages["admin", "en"] and users not in pages["organizer", "en"]
    assert "Instituciones" in pages["organizer", "es"] and "Instituciones" not in pages["organizer", "en"]


def test_times_read_as_babel_writes_them_in_both_languages(app):
    """``local_datetime`` draws short and medium times from patterns parsed once: the same text
    as Flask-Babel's, across a change of daylight saving time, for a naive (UTC) time too."""
    from datetime import UTC, datetime, timedelta

    from flask_babel import force_locale, format_datetime

    from organizer.web import local_datetime

    moments = [datetime(2026, 3, 8, 7, 30, tzinfo=UTC) + timedelta(minutes=17 * i) for i in range(20)]
    moments += [datetime(2026, 11, 1, 5, 40) + timedelta(minutes=13 * i) for i in range(10)]
    with app.test_request_context():
        for language in ("en", "es"):
            with force_locale(language):
                for fmt in ("short", "medium", "full"):
                    assert [local_datetime(m, fmt) for m in moments] == [format_datetime(m, fmt) for m in moments]


def test_action_times_read_as_babel_writes_them_in_the_actions_zone(app):
    """``action_time`` (an action's own time zone) writes what Babel's ``format_datetime`` writes
    with that zone, in both languages, short, medium and full."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime
    from flask_babel import force_locale, get_locale

    from organizer.actions.views import action_time

    moments = [datetime(2026, 3, 8, 6, 30, tzinfo=UTC) + timedelta(minutes=41 * i) for i in range(40)]
    with app.test_request_context():
        for language in ("en", "es"):
            with force_locale(language):
                for zone in ("America/Chicago", "America/Los_Angeles", "Europe/Madrid"):
                    for fmt in ("short", "medium", "long", "full"):
                        assert [action_time(m, zone, fmt) for m in moments] == [
                            format_datetime(m, fmt, tzinfo=ZoneInfo(zone), locale=get_locale()) for m in moments]


def test_pattern_writers_write_what_babel_writes():
    """Each date and time pattern of each language and format, written by ``local_datetime``'s
    writers and by Babel, at every hour (midnight and noon too), across years and months."""
    import random
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from babel import Locale
    from babel import dates as babel_dates

    from organizer.web import _pattern_writer

    rng = random.Random(3)  # noqa: S311 - test data
    zone = ZoneInfo("America/Chicago")
    moments = [datetime(2026, 1, 1, tzinfo=zone) + timedelta(hours=h, minutes=h * 7 % 60) for h in range(48)]
    moments += [datetime(rng.randrange(1990, 2040), rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24),
                         rng.randrange(60), rng.randrange(60), tzinfo=zone) for _ in range(200)]
    for language in ("en", "es"):
        locale = Locale.parse(language)
        for fmt in ("short", "medium", "long", "full"):
            date_pattern = babel_dates.get_date_format(fmt, locale=locale).pattern
            write = _pattern_writer(date_pattern, locale, "date")
            assert [write(m) for m in moments] == [babel_dates.format_date(m, date_pattern, locale) for m in moments]
            time_pattern = babel_dates.get_time_format(fmt, locale=locale).pattern
            write = _pattern_writer(time_pattern, locale, "time")
            assert [write(m) for m in moments] == [babel_dates.format_time(m, time_pattern, locale=locale)
                                                   for m in moments], (language, fmt)


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


#: The ``filter_select`` macro's loop before ``option_tags`` drew it, the reference of its output.
TEMPLATE_LOOP = ('{% for option in options %}<option value="{{ option[value] }}" '
                 '{% if selected == option[value] %}selected{% endif %}>{{ option[text] }}</option>{% endfor %}')


def test_a_filter_draws_its_options_as_the_template_loop_did_and_anew_when_they_change(app):
    from types import SimpleNamespace

    from markupsafe import Markup

    from organizer.institutions.services import Choice
    from organizer.web import option_tags

    loop = app.jinja_env.from_string(TEMPLATE_LOOP)
    objects = [SimpleNamespace(id=1, name="Saint <Mark> & \"Paul\""), SimpleNamespace(id=2, name=Markup("<b>Bold</b>"))]
    lists = [
        (objects, {}),
        ([Choice(4, "Bethel"), Choice(9, "Zion")], {}),
        ([("es", "Español"), ("en", "English"), (None, "Unknown")], {"value": 0, "text": 1}),
        ([(1, "Yes"), (True, "True value")], {"value": 0, "text": 1}),  # True == 1, but is drawn "True"
    ]
    with app.test_request_context("/"):
        for options, keys in lists:
            for selected in (None, 1, 2, 4, "en", True, "nothing"):
                drawn = option_tags(options, selected, **keys)
                assert drawn == loop.render(options=options, selected=selected, **{"value": "id", "text": "name", **keys})
        objects[0].name = "Renamed"  # a list that changed is drawn again, not found among those drawn
        assert ">Renamed</option>" in option_tags(objects, None)
        assert option_tags([(1, "One"), (2, "Two")], 2, value=0, text=1) == (
            '<option value="1" >One</option><option value="2" selected>Two</option>')


def test_the_picker_draws_changed_choices_and_a_changed_value_afresh(app):
    from flask_wtf import FlaskForm
    from wtforms import SelectField, widgets

    from organizer.forms import PickerSelect
    from organizer.people.forms import AssignForm, MembershipForm

    with app.test_request_context("/"):
        form = MembershipForm(meta={"csrf": False})
        form.institution_id.choices = [("", "Choose"), (3, "Bethel"), (7, "Zion")]
        first = form.institution_id()
        form.institution_id.choices = [("", "Choose"), (3, "Bethel AME"), (7, "Zion")]
        assert form.institution_id() != first and ">Bethel AME</option>" in form.institution_id()
        for data in (3, 7, None):
            form.institution_id.data = data
            assert form.institution_id() == widgets.Select()(form.institution_id)

        class Pick(FlaskForm):
            choice = SelectField(coerce=str, widget=PickerSelect())

        pick = Pick(meta={"csrf": False})
        for choices in ([(1, "One"), (True, "Yes")], [(True, "Yes"), (1, "One")]):  # True == 1 as a key
            pick.choice.choices, pick.choice.data = choices, "1"
            assert pick.choice() == widgets.Select()(pick.choice) and '<option selected value="1">' in pick.choice()
        assign = AssignForm(meta={"csrf": False})  # the people list's "Assign to": the same picker
        assign.owner_id.choices = [("", "Nobody"), (5, "Ana <Organizer>")]
        assert assign.owner_id(class_="form-select") == widgets.Select()(assign.owner_id, class_="form-select")
        assert '<option selected value="">Nobody</option>' in assign.owner_id()


@pytest.mark.parametrize("zone", ["America/Chicago", "America/Los_Angeles", "Pacific/Honolulu", "UTC"])
def test_a_lists_dates_are_the_days_flask_babel_gives_in_the_federations_zone(app, zone):
    from datetime import UTC, datetime, timedelta

    from flask import g
    from flask_babel import format_date, to_user_timezone

    from organizer.settings.models import Organization
    from organizer.web import local_date

    # Around midnight in each zone, and across the spring and autumn clock changes.
    moments = [datetime(2026, month, day, hour, tzinfo=UTC) + timedelta(minutes=minutes)
               for month, day in ((1, 1), (3, 8), (3, 9), (11, 1), (11, 2), (6, 30)) for hour in (0, 4, 6, 7, 8, 10)
               for minutes in (0, 59)]
    for language in ("en", "es"):
        with app.test_request_context("/", headers={"Accept-Language": language}):
            g.organization = Organization(id=1, name="Test", timezone=zone, default_phone_region="US")
            for moment in moments:
                expected = format_date(to_user_timezone(moment).date(), "medium")
                assert local_date(moment) == expected, (zone, moment)
                assert local_date(moment.replace(tzinfo=None)) == expected  # a naive time is UTC


def test_the_forms_own_messages_are_in_the_readers_language_from_a_catalog_read_once(app):
    from flask import request
    from flask_wtf import FlaskForm
    from wtforms import IntegerField

    class CountForm(FlaskForm):
        class Meta:
            csrf = False

        count = IntegerField()

    errors, catalogs = {}, {}
    for language in ("es", "en", "es"):
        with app.test_request_context("/", method="POST", data={"count": "abc"},
                                      headers={"Accept-Language": language}):
            form = CountForm()
            form.validate()
            errors[language] = form.errors["count"]
            catalogs.setdefault(language, set()).add(id(request.wtforms_translations))
    assert errors == {"es": ["No es un valor entero válido."], "en": ["Not a valid integer value."]}
    assert len(catalogs["es"]) == 1  # the second Spanish request found the same catalog
