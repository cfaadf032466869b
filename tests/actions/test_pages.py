"""Action pages: planning in local time, who sees which RSVPs, commitments, check-in, exports."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from organizer.actions.models import Action, Attendance, TurnoutCommitment, Rsvp, RsvpSource, RsvpStatus
from organizer.audit.models import AuditEvent
from organizer.extensions import db
from organizer.people.models import Person


def test_organizer_plans_an_action_in_local_time_stored_in_utc(app, make_user, login_as):
    staff = login_as(make_user())
    response = staff.post("/actions/new", data={
        "title": "Budget hearing", "type": "hearing", "campaign_id": "", "starts_local": "2031-03-10T18:30",
        "ends_local": "2031-03-10T20:00", "timezone": "America/New_York", "location": "City Hall",
        "turnout_goal": "150", "description": "",
    })
    assert response.status_code == 302
    with app.app_context():
        action = db.session.scalar(select(Action))
        assert action.starts_at == datetime(2031, 3, 10, 22, 30, tzinfo=UTC)  # EDT is UTC-4
        assert action.turnout_goal == 150 and action.signup_token
        action_id = action.id
    page = staff.client.get(f"/actions/{action_id}").get_data(as_text=True)
    assert "6:30" in page and "America/New_York" in page


def test_an_action_that_ends_before_it_starts_is_refused(app, make_user, login_as):
    staff = login_as(make_user())
    response = staff.post("/actions/new", data={
        "title": "Backwards", "type": "rally", "starts_local": "2031-03-10T18:30", "ends_local": "2031-03-10T17:00",
        "timezone": "America/Chicago", "turnout_goal": "5"})
    assert response.status_code == 200 and "must end after it starts" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Action)) == 0


def test_leaders_cannot_plan_or_export_but_run_the_door_for_their_own_people(
        make_user, make_person, make_action, login_as):
    action = make_action()
    user = make_user("leader")
    make_person(owner=user, first_name="Mineperson")
    make_person(owner=make_user("leader"), first_name="Theirperson")
    leader = login_as(user)
    assert leader.client.get("/actions/new").status_code == 403
    assert leader.client.get(f"/actions/{action.id}/signin.csv").status_code == 403
    door = leader.client.get(f"/actions/{action.id}/checkin?q=person").get_data(as_text=True)
    assert "Mineperson" in door and "Theirperson" not in door


def test_a_leader_adds_rsvps_for_their_own_people_only(app, make_user, make_person, make_action, login_as):
    leader, other = make_user("leader"), make_user("leader")
    mine, theirs = make_person(owner=leader, first_name="Mine"), make_person(owner=other, first_name="Theirs")
    action = make_action()
    client = login_as(leader)
    assert client.post(f"/actions/{action.id}/rsvps", data={"person_id": mine.id, "status": "yes"}).status_code == 302
    assert client.post(f"/actions/{action.id}/rsvps", data={"person_id": theirs.id, "status": "yes"}).status_code == 404
    with app.app_context():
        rsvps = db.session.scalars(select(Rsvp)).all()
        assert [(r.person_id, r.source, r.recruited_by_id) for r in rsvps] == [(mine.id, RsvpSource.LEADER, leader.id)]
    search = client.client.get(f"/actions/{action.id}?q=Theirs").get_data(as_text=True)
    assert "Theirs" not in search.split('data-testid="rsvp-matches"')[1].split("</ul>")[0]


def test_a_leader_sees_only_their_own_peoples_rsvps_and_follow_up_lists(
        make_user, make_person, make_action, add_rsvp, login_as):
    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader, first_name="Visible", last_name="Mine")
    theirs = make_person(owner=other, first_name="Hidden", last_name="Theirs")
    action = make_action(days=-1)
    add_rsvp(action, mine, "yes")
    add_rsvp(action, theirs, "yes")
    client = login_as(leader).client
    for url in (f"/actions/{action.id}", f"/actions/{action.id}/turnout"):
        page = client.get(url).get_data(as_text=True)
        assert "Visible Mine" in page and "Hidden Theirs" not in page
    turnout = client.get(f"/actions/{action.id}/turnout").get_data(as_text=True)
    assert 'data-testid="fig-yes">2<' in turnout  # totals count everybody, as numbers


def test_a_leader_commits_and_changes_their_commitment(app, make_user, make_action, login_as):
    leader, action = make_user("leader"), make_action()
    client = login_as(leader)
    client.post(f"/actions/{action.id}/commitments/mine", data={"number": "8"})
    client.post(f"/actions/{action.id}/commitments/mine", data={"number": "10", "note": "two carloads"})
    with app.app_context():
        commitments = db.session.scalars(select(TurnoutCommitment)).all()
        assert [(c.leader_id, c.number, c.note) for c in commitments] == [(leader.id, 10, "two carloads")]
    page = client.client.get(f"/actions/{action.id}").get_data(as_text=True)
    assert f"{leader.name}</strong> will bring 10" in page


def test_an_institution_commitment_by_an_organizer(app, make_user, make_action, make_institution, login_as):
    action, church = make_action(), make_institution(name="St. Mark's")
    client = login_as(make_user())
    client.post(f"/actions/{action.id}/commitments", data={
        "institution_id": church.id, "number": "40", "committed_by_name": "Fr. Miguel"})
    page = client.client.get(f"/actions/{action.id}/turnout").get_data(as_text=True)
    assert 'data-testid="fig-committed">40<' in page and "St. Mark&#39;s" in page


def test_an_institution_commitment_starts_on_no_institution_and_is_refused_without_one(
        app, make_user, make_action, make_institution, login_as):
    """The picker used to start on the first institution by name: "Save" pressed without
    choosing put the commitment down to it."""
    action, _first = make_action(), make_institution(name="Aaron Street Church")
    client = login_as(make_user())
    page = client.client.get(f"/actions/{action.id}").get_data(as_text=True)
    picker = page.split('name="institution_id"')[1].split("</select>")[0]
    assert picker.split("<option")[1].startswith(' selected value="">Choose an institution<'), picker[:200]
    response = client.post(f"/actions/{action.id}/commitments", data={"institution_id": "", "number": "40"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(TurnoutCommitment)).all() == []
    page = client.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Choose an institution and how many people it will bring." in page


def test_check_in_by_form_and_by_script_counts_once(app, make_user, make_person, make_action, login_as):
    action, person = make_action(days=0), make_person(first_name="Dolores", last_name="Huerta", phone="+13125550142")
    client = login_as(make_user())
    found = client.client.get(f"/actions/{action.id}/checkin?q=555-0142").get_data(as_text=True)
    assert "Dolores Huerta" in found
    assert client.post(f"/actions/{action.id}/checkin", data={"person_id": person.id}).status_code == 302
    response = client.post(f"/actions/{action.id}/checkin", data={"person_id": person.id},
                           headers={"Accept": "application/json"})
    assert response.get_json() == {"checked_in": True, "created": False, "count": 1, "name": "Dolores Huerta"}


def test_two_devices_checking_in_the_same_person_at_once_count_one(app, make_user, make_person, make_action, login_as):
    action, person = make_action(days=0), make_person()
    devices = [login_as(make_user()), login_as(make_user())]
    for device in devices:
        device.csrf_token("/")
    start = threading.Barrier(len(devices))
    results = []

    def tap(device):
        start.wait()
        response = device.post(f"/actions/{action.id}/checkin", data={"person_id": person.id},
                               headers={"Accept": "application/json"})
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=tap, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in results] == [200, 200]
    assert sorted(body["created"] for _, body in results) == [False, True]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1


def test_walk_in_form_creates_the_person_and_checks_them_in(app, make_user, make_action, make_institution, login_as):
    action, church = make_action(days=0), make_institution()
    client = login_as(make_user())
    data = {"first_name": "Luis", "last_name": "Flores", "phone": "773 555 0199", "institution_id": church.id}
    assert client.post(f"/actions/{action.id}/walk-in", data=data).status_code == 302
    assert client.post(f"/actions/{action.id}/walk-in", data=data).status_code == 302  # same phone: same person
    bad = client.post(f"/actions/{action.id}/walk-in", data={**data, "phone": "12"})
    assert bad.status_code == 400 and "not a valid phone number" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 1
        attendance = db.session.scalar(select(Attendance))
        assert attendance.walk_in and db.session.scalar(select(func.count()).select_from(Attendance)) == 1


def test_turnout_and_checkin_search_use_a_fixed_number_of_queries(
        app, make_user, make_person, make_action, make_institution, add_rsvp, login_as, count_queries):
    from tests.support.turnout import grow_turnout

    staff, leader, church = make_user(), make_user("leader"), make_institution()
    earlier, action = make_action(days=-20), make_action(days=-1)
    client = login_as(staff).client

    def grow(n):
        grow_turnout(app, n, action, earlier, leader, church, make_person, add_rsvp)

    def measure():
        counts = []
        for url in (f"/actions/{action.id}/turnout", f"/actions/{action.id}/checkin?q=maria",
                    f"/actions/{action.id}"):
            with count_queries() as q:
                assert client.get(url).status_code == 200
            counts.append(q.count)
        return counts

    grow(2)
    small = measure()
    grow(15)
    assert measure() == small


def test_exports_are_csv_and_logged_in_the_audit_log(app, make_user, make_person, make_action, add_rsvp, login_as):
    action = make_action(days=-1)
    came, absent = make_person(first_name="=HYPERLINK(1)"), make_person(first_name="Absent")
    add_rsvp(action, came, "yes", came=True)
    add_rsvp(action, absent, "yes")
    client = login_as(make_user()).client
    turnout = client.get(f"/actions/{action.id}/turnout.csv")
    assert turnout.mimetype == "text/csv"
    lines = turnout.get_data(as_text=True).splitlines()
    assert len(lines) == 2 and "'=HYPERLINK(1)" in lines[1]
    signin = client.get(f"/actions/{action.id}/signin.csv").get_data(as_text=True).splitlines()
    assert len(signin) == 3
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
        assert sorted(e.details["list"] for e in events) == ["signin", "turnout"]


def test_attendance_shows_on_the_persons_timeline(make_user, make_person, make_action, add_rsvp, login_as):
    person, action = make_person(), make_action(days=-3, title="Night bus vigil")
    add_rsvp(action, person, "yes", came=True)
    page = login_as(make_user()).client.get(f"/people/{person.id}").get_data(as_text=True)
    assert "Attended Night bus vigil" in page


def test_sign_in_sheet_lists_yes_and_maybe_with_blank_lines(make_user, make_person, make_action, add_rsvp, login_as):
    action = make_action()
    add_rsvp(action, make_person(first_name="Coming"), "yes")
    add_rsvp(action, make_person(first_name="Unsure"), "maybe")
    add_rsvp(action, make_person(first_name="Declined"), "no")
    page = login_as(make_user()).client.get(f"/actions/{action.id}/sign-in-sheet").get_data(as_text=True)
    assert "Coming" in page and "Unsure" in page and "Declined" not in page
    assert "sign-in-sheet.css" in page and page.count('class="blank"') == 25


def test_rsvp_status_values_are_the_contract(app):
    assert [s.value for s in RsvpStatus] == ["yes", "maybe", "no", "pending"]  # pending: a sign-up to confirm
    assert [s.value for s in RsvpSource] == ["organizer", "leader", "signup", "sms", "walk_in"]
