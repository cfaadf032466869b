"""Each recipient's local time: candidate zones from the person or the area code (every zone
of a multi-zone area code, and the federation's), state windows (Florida, Oklahoma, Maryland
8:00-20:00), validity periods that end before any candidate zone's quiet hours, and the
admins' page for the state table."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from organizer.extensions import db
from organizer.people.models import Person
from organizer.sms import local_time, sending
from organizer.sms.models import StateQuietHours
from tests.sms.conftest import at

CHICAGO = "America/Chicago"


@pytest.fixture
def quiet(app):
    app.config["SMS_QUIET_HOURS"] = "21:00-08:00"
    app.config["SMS_MAX_VALIDITY_SECONDS"] = 14400
    return app


def _next(app, phone, now, person=None, org_tz=CHICAGO):
    with app.app_context():
        return sending.next_send_time(phone, now, app.config, org_tz, person)


def _validity(app, phone, now, person=None, org_tz=CHICAGO):
    with app.app_context():
        return sending.validity_for(phone, now, app.config, org_tz, person)


def _living_in(zone):
    return Person(first_name="Ana", timezone=zone)


# --- candidate zones ----------------------------------------------------------------------------


def test_a_zone_recorded_on_the_person_is_the_only_candidate():
    assert local_time.candidate_zones("+12085550100", _living_in("America/Boise"), CHICAGO) == ["America/Boise"]


def test_an_unknown_zone_on_the_person_falls_back_to_the_number():
    assert local_time.candidate_zones("+18085550100", _living_in("Mars/Olympus"), CHICAGO) == [
        "Pacific/Honolulu", CHICAGO]


@pytest.mark.parametrize(("number", "zones"), [
    ("+12085550100", {"America/Boise", "America/Los_Angeles"}),
    ("+16055550100", {"America/Denver", "America/North_Dakota/Center"}),
    ("+17015550100", {"America/Denver", "America/North_Dakota/Center"}),
    ("+19075550100", {"America/Adak", "America/Anchorage"}),
])
def test_every_zone_of_a_multi_zone_area_code_is_a_candidate_with_the_federations(number, zones):
    assert set(local_time.candidate_zones(number, None, CHICAGO)) == zones | {CHICAGO}


def test_the_zip_code_seam_gives_nothing_yet():
    assert local_time.zone_from_zip(_living_in("America/Boise")) is None


# --- windows ------------------------------------------------------------------------------------


def test_a_chicago_federation_does_not_text_a_boise_number_at_seven_thirty_boise_time(quiet):
    # 13:30 UTC in July: 08:30 in Chicago, 07:30 in Boise, 06:30 in the Idaho panhandle (Pacific).
    now = at("2026-07-14T13:30+00:00")
    assert _next(quiet, "+12085550100", now) == at("2026-07-14T15:00+00:00")  # 08:00 Pacific


@pytest.mark.parametrize(("number", "opens", "closes"), [
    # 605/701: Mountain opens last (08:00 MDT = 14:00 UTC); Central closes first (21:00 CDT = 02:00 UTC).
    ("+16055550100", "2026-07-14T14:00+00:00", "2026-07-15T02:00+00:00"),
    ("+17015550100", "2026-07-14T14:00+00:00", "2026-07-15T02:00+00:00"),
    # 907: Adak opens last (08:00 HDT = 17:00 UTC); Chicago closes first.
    ("+19075550100", "2026-07-14T17:00+00:00", "2026-07-15T02:00+00:00"),
])
def test_multi_zone_area_codes_get_the_window_allowed_in_all_their_zones(quiet, number, opens, closes):
    assert _next(quiet, number, at("2026-07-14T12:00+00:00")) == at(opens)
    # One hour before the first zone's 21:00, Twilio may hold the text one hour at most.
    one_hour_before = at(closes).replace(hour=1)
    assert _validity(quiet, number, one_hour_before) == 3600


def test_phoenix_keeps_its_clock_when_the_rest_springs_forward(quiet):
    phoenix = _living_in("America/Phoenix")
    # 08:00 MST is 15:00 UTC in winter and in summer alike.
    assert _next(quiet, "+16025550100", at("2026-01-15T13:00+00:00"), phoenix) == at("2026-01-15T15:00+00:00")
    assert _next(quiet, "+16025550100", at("2026-07-15T13:00+00:00"), phoenix) == at("2026-07-15T15:00+00:00")
    # 20:00 MST on the spring-forward day: one hour before 21:00.
    assert _validity(quiet, "+16025550100", at("2026-03-09T03:00+00:00"), phoenix) == 3600


def test_spring_forward_day_opens_at_eight_on_the_new_clock(quiet):
    chicago = _living_in(CHICAGO)
    # 8 March 2026, 01:30 CST: clocks jump at 02:00; 08:00 CDT is 13:00 UTC (14:00 the day before).
    assert _next(quiet, "+13125550100", at("2026-03-08T07:30+00:00"), chicago) == at("2026-03-08T13:00+00:00")
    assert _next(quiet, "+13125550100", at("2026-03-07T07:30+00:00"), chicago) == at("2026-03-07T14:00+00:00")


def test_fall_back_day_counts_the_long_evening(quiet):
    chicago = _living_in(CHICAGO)
    # 1 November 2026: 08:00 CST is 14:00 UTC; at 20:00 CST (02:00 UTC) one hour remains.
    assert _next(quiet, "+13125550100", at("2026-11-01T12:00+00:00"), chicago) == at("2026-11-01T14:00+00:00")
    assert _validity(quiet, "+13125550100", at("2026-11-02T02:00+00:00"), chicago) == 3600


def test_puerto_rico_without_daylight_saving(quiet):
    assert local_time.candidate_zones("+17875550100", None, "America/Puerto_Rico") == ["America/Puerto_Rico"]
    # 08:00 AST is 12:00 UTC all year; 21:00 AST is 01:00 UTC.
    assert _next(quiet, "+17875550100", at("2026-07-14T11:00+00:00"), org_tz="America/Puerto_Rico") == at(
        "2026-07-14T12:00+00:00")
    assert _validity(quiet, "+17875550100", at("2026-01-15T00:30+00:00"), org_tz="America/Puerto_Rico") == 1800


def test_hawaii_and_alaska_from_the_person(quiet):
    honolulu, anchorage = _living_in("Pacific/Honolulu"), _living_in("America/Anchorage")
    assert _next(quiet, "+18085550100", at("2026-07-14T17:00+00:00"), honolulu) == at("2026-07-14T18:00+00:00")
    assert _next(quiet, "+19075550100", at("2026-07-14T15:00+00:00"), anchorage) == at("2026-07-14T16:00+00:00")
    assert _validity(quiet, "+19075550100", at("2026-07-15T04:00+00:00"), anchorage) == 3600  # 20:00 AKDT


def test_a_hawaii_number_of_a_chicago_federation_waits_for_both(quiet):
    # Allowed in Chicago 13:00-02:00 UTC (CDT) and in Honolulu 18:00-07:00 UTC: 18:00-02:00.
    assert _next(quiet, "+18085550100", at("2026-07-14T17:00+00:00")) == at("2026-07-14T18:00+00:00")
    assert _validity(quiet, "+18085550100", at("2026-07-15T01:00+00:00")) == 3600


# --- state windows ------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "state", "evening_utc"), [
    ("+13055550100", "FL", "2026-07-15T00:30+00:00"),  # 20:30 EDT in Miami
    ("+14105550100", "MD", "2026-07-15T00:30+00:00"),  # 20:30 EDT in Baltimore
    ("+14055550100", "OK", "2026-07-15T01:30+00:00"),  # 20:30 CDT in Oklahoma City
])
def test_florida_oklahoma_and_maryland_numbers_get_no_text_after_eight(quiet, number, state, evening_utc):
    assert local_time.state_for_number(number) == state
    person = _living_in("America/New_York" if state != "OK" else CHICAGO)
    assert _validity(quiet, number, at(evening_utc), person) == 0
    assert _next(quiet, number, at(evening_utc), person) > at(evening_utc)
    assert _next(quiet, "+13125550100", at(evening_utc).replace(hour=1, minute=30), _living_in(CHICAGO)) == at(
        evening_utc).replace(hour=1, minute=30)  # 20:30 in Chicago: still allowed in Illinois


def test_a_text_queued_at_quarter_to_eight_in_florida_expires_by_eight(quiet):
    miami = _living_in("America/New_York")
    assert _validity(quiet, "+13055550100", at("2026-07-14T23:45+00:00"), miami) == 900


def test_the_state_comes_from_a_city_description_too():
    assert local_time.state_for_number("+12083450100") == "ID"  # "Boise, ID"
    assert local_time.state_for_number("+447700900123") is None


# --- the admins' page ---------------------------------------------------------------------------


def test_the_defaults_are_seeded_with_their_sources(app):
    with app.app_context():
        rules = {r.state: r for r in local_time.state_rules()}
    assert {"FL", "OK", "MD"} <= set(rules)
    assert (rules["FL"].allowed_from, rules["FL"].allowed_until) == (time(8), time(20))
    assert "501.059" in rules["FL"].source


def test_an_admin_changes_a_state_window_and_it_applies(quiet, make_user, login_as):
    admin = login_as(make_user("admin"))
    assert "Fla. Stat. 501.059" in admin.client.get("/sms/quiet-hours").get_data(as_text=True)
    response = admin.post("/sms/quiet-hours", {"state": "TX", "allowed_from": "09:00", "allowed_until": "21:00",
                                               "source": "Tex. Bus. & Com. Code 301.051"})
    assert response.status_code == 302
    # 08:30 CDT in Houston: now too early.
    assert _validity(quiet, "+17135550100", at("2026-07-14T13:30+00:00"), _living_in(CHICAGO)) == 0
    from organizer.audit.models import AuditEvent

    with quiet.app_context():
        events = db.session.scalar(select(func.count()).where(AuditEvent.object_type == "sms_state_quiet_hours"))
    # Saved unchanged: nothing written.
    admin.post("/sms/quiet-hours", {"state": "TX", "allowed_from": "09:00", "allowed_until": "21:00",
                                    "source": "Tex. Bus. & Com. Code 301.051"})
    with quiet.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.object_type == "sms_state_quiet_hours")) \
            == events == 1
    assert admin.post("/sms/quiet-hours/remove", {"state": "TX"}).status_code == 302
    assert _validity(quiet, "+17135550100", at("2026-07-14T13:30+00:00"), _living_in(CHICAGO)) > 0


def test_a_window_that_allows_nothing_is_refused_and_writes_nothing(app, make_user, login_as):
    admin = login_as(make_user("admin"))
    response = admin.post("/sms/quiet-hours", {"state": "FL", "allowed_from": "20:00", "allowed_until": "08:00"})
    assert response.status_code == 200
    assert "The window must start before it ends" in response.get_data(as_text=True)
    with app.app_context():
        rule = db.session.scalar(select(StateQuietHours).where(StateQuietHours.state == "FL"))
        assert (rule.allowed_from, rule.allowed_until) == (time(8), time(20))


def test_organizers_cannot_change_state_windows(app, make_user, login_as):
    organizer = login_as(make_user("organizer"))
    assert organizer.client.get("/sms/quiet-hours").status_code == 403


def test_staff_record_where_a_person_lives_and_texts_follow_it(quiet, make_user, make_person, login_as):
    organizer = make_user("organizer")
    person = make_person(first_name="Ana", phone="+12085550100")  # Idaho: Boise or Pacific
    staff = login_as(organizer)
    response = staff.post(f"/people/{person.id}/edit", {"first_name": "Ana", "last_name": person.last_name,
                                                        "phone": "+12085550100", "sms_consent": "unknown",
                                                        "timezone": "America/Boise"})
    assert response.status_code == 302
    assert "America/Boise" in staff.client.get(f"/people/{person.id}").get_data(as_text=True)
    with quiet.app_context():
        ana = db.session.get(Person, person.id)
        assert local_time.candidate_zones(ana.phone, ana, CHICAGO) == ["America/Boise"]
        # 14:00 UTC in July is 08:00 in Boise: allowed now that we know she lives there.
        assert sending.next_send_time(ana.phone, at("2026-07-14T14:00+00:00"), quiet.config, CHICAGO, ana) == at(
            "2026-07-14T14:00+00:00")


def test_a_zone_that_is_not_offered_is_refused(app, make_user, make_person, login_as):
    person = make_person(first_name="Ana", phone="+12085550100")
    response = login_as(make_user("organizer")).post(
        f"/people/{person.id}/edit", {"first_name": "Ana", "sms_consent": "unknown", "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Person, person.id).timezone is None
