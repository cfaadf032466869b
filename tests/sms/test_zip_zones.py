"""A US ZIP code's time zones and state, from its first three digits (ZIP3): one zone for most,
every zone where a prefix spans several; and how a ZIP decides a text's candidate zones and
state window before the person's recorded zone or the phone's area code."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from organizer.extensions import db
from organizer.people.models import Person
from organizer.sms import local_time
from organizer.sms.models import StateQuietHours

CHICAGO = "America/Chicago"
QUIET = (time(21), time(8))


@pytest.mark.parametrize(("code", "zones"), [
    ("83702", ["America/Boise"]),  # Boise, ID
    ("85004", ["America/Phoenix"]),  # Phoenix, AZ: no daylight saving time
    ("96813", ["Pacific/Honolulu"]),  # Honolulu, HI
    ("00901", ["America/Puerto_Rico"]),  # San Juan, PR
    ("60606", [CHICAGO]),  # Chicago, IL
    ("10001", ["America/New_York"]),  # New York, NY
    ("98101", ["America/Los_Angeles"]),  # Seattle, WA
])
def test_a_zip_code_in_one_zone_gives_that_zone(code, zones):
    assert local_time.zones_for_postal_code(code) == zones


def test_anchorages_prefix_spans_alaska_and_the_aleutians():
    zones = local_time.zones_for_postal_code("99501")  # Anchorage, AK
    assert zones[0] == "America/Anchorage"  # most of 995's ZIP codes
    assert "America/Adak" in zones  # 99546 Adak, in the Aleutians: an hour behind


@pytest.mark.parametrize(("code", "zones"), [
    ("97914", {"America/Boise", "America/Los_Angeles"}),  # Ontario, OR: Malheur County keeps Mountain time
    ("86515", {"America/Phoenix", "America/Denver"}),  # Window Rock, AZ: the Navajo Nation keeps DST
    ("32401", {CHICAGO, "America/New_York"}),  # Panama City, FL: the panhandle west of the Apalachicola
])
def test_a_prefix_that_spans_zones_gives_every_one(code, zones):
    assert set(local_time.zones_for_postal_code(code)) == zones


@pytest.mark.parametrize("code", ["83702-1234", "837021234", " 83702 "])
def test_zip_plus_four_and_spaces_are_read(code):
    assert local_time.zones_for_postal_code(code) == ["America/Boise"]


@pytest.mark.parametrize("code", [None, "", "8370", "ABCDE", "SW1A 1AA", "H2X 1Y4", "00001", "09012"])
def test_no_zone_for_what_is_no_us_zip_code(code):
    # 000 is no prefix; 090 is a military APO in Europe, whose zone a ZIP cannot tell.
    assert local_time.zones_for_postal_code(code) == []


@pytest.mark.parametrize(("code", "state"), [
    ("83702", "ID"), ("85004", "AZ"), ("96813", "HI"), ("99501", "AK"), ("00901", "PR"), ("60606", "IL"),
    ("33101", "FL"), ("20500", "DC"),
])
def test_a_zip_code_names_its_state(code, state):
    assert local_time.state_for_postal_code(code) == state


def test_the_zip_code_decides_over_the_area_code():
    # A Chicago number, an address in Boise: the text keeps Boise's hours, not Chicago's.
    assert local_time.candidate_zones("+13125550100", None, CHICAGO, postal_code="83702") == ["America/Boise"]


def test_a_zone_recorded_on_the_person_settles_a_prefix_that_spans_zones(app):
    ana = Person(first_name="Ana", timezone="America/Los_Angeles")
    assert local_time.candidate_zones("+15415550100", ana, CHICAGO, postal_code="97914") == ["America/Los_Angeles"]
    assert set(local_time.candidate_zones("+15415550100", None, CHICAGO, postal_code="97914")) == {
        "America/Boise", "America/Los_Angeles"}


def test_a_zone_recorded_on_the_person_outside_their_zip_loses_to_the_zip(app):
    # The address is the better witness: a zone picked long ago does not move them out of it.
    ana = Person(first_name="Ana", timezone="America/New_York")
    assert local_time.candidate_zones("+12085550100", ana, CHICAGO, postal_code="83702") == ["America/Boise"]


def test_without_a_zip_code_nothing_changes(app):
    ana = Person(first_name="Ana", timezone="America/Boise")
    assert local_time.candidate_zones("+12085550100", ana, CHICAGO) == ["America/Boise"]
    assert local_time.postal_code_of(ana) is None  # people have no ZIP field yet


def test_the_state_window_follows_the_zip_code(app):
    # A Chicago number (Illinois: no state window) living in Miami gets Florida's 8:00-20:00.
    with app.app_context():
        assert db.session.scalar(select(StateQuietHours.id).where(StateQuietHours.state == "FL"))
        local_time.forget_cached_rules()
        windows = local_time.windows_for("+13125550100", None, CHICAGO, QUIET, postal_code="33101")
        assert windows == [("America/New_York", time(21), time(8)), ("America/New_York", time(20), time(8))]
        assert local_time.windows_for("+13125550100", None, CHICAGO, QUIET) == [(CHICAGO, time(21), time(8))]


def test_a_persons_zip_code_on_file_decides_their_zone(app, make_person):
    """A Chicago number (312) belonging to someone whose address is in Boise: their texts
    follow Boise's clock."""
    from organizer.extensions import db
    from organizer.people.models import Person
    from organizer.sms import local_time

    person = make_person(phone="+13125550199", postal_code="83702")
    with app.app_context():
        stored = db.session.get(Person, person.id)
        assert local_time.postal_code_of(stored) == "83702"
        assert local_time.zone_from_zip(stored) == "America/Boise"
