"""The door's offline roster and the sync of operations queued on devices: each operation is
applied once by its id, two devices checking in one person count one arrival, a leader's device
sees and changes only the leader's own people, and a sync without the CSRF token is refused."""

import uuid

import pytest
from sqlalchemy import func, select

from organizer.actions.models import Attendance, CheckinOp
from organizer.extensions import db
from organizer.people.models import Person


def _op(kind="check_in", **fields):
    return {"id": str(uuid.uuid4()), "kind": kind, **fields}


def _sync(client, action, ops):
    """POST a device's queue as the page's script does: JSON, the token in the X-CSRFToken header."""
    token = client.client.get(f"/actions/{action.id}/checkin/roster").get_json()["csrf_token"]
    return client.client.post(f"/actions/{action.id}/checkin/sync", json={"ops": ops},
                              headers={"X-CSRFToken": token, "Accept": "application/json"})


def _arrivals(app, action, person_id=None):
    with app.app_context():
        stmt = select(func.count()).select_from(Attendance).where(Attendance.action_id == action.id)
        if person_id is not None:
            stmt = stmt.where(Attendance.person_id == person_id)
        return db.session.scalar(stmt)


@pytest.fixture
def door(make_user, make_person, make_action, add_rsvp):
    action = make_action(days=0)
    dolores = make_person(first_name="Dolores", last_name="Huerta", phone="+13125550142")
    add_rsvp(action, dolores, "yes")
    return action, dolores


def test_the_roster_lists_who_answered_with_phones_and_a_fresh_token(make_user, make_person, add_rsvp, login_as, door):
    action, dolores = door
    add_rsvp(action, make_person(first_name="Cesar", last_name="Chavez"), "maybe", came=True)
    make_person(first_name="Nobody", last_name="Answered")
    body = login_as(make_user()).client.get(f"/actions/{action.id}/checkin/roster").get_json()
    people = {p["name"]: p for p in body["people"]}
    assert set(people) == {"Dolores Huerta", "Cesar Chavez"}
    assert people["Dolores Huerta"]["phone"] == "(312) 555-0142"
    assert people["Dolores Huerta"]["rsvp"] == "yes" and not people["Dolores Huerta"]["checked_in"]
    assert people["Cesar Chavez"]["checked_in"] and body["count"] == 1
    assert body["csrf_token"]


def test_a_check_in_synced_twice_counts_once(app, make_user, login_as, door):
    action, dolores = door
    staff = login_as(make_user())
    op = _op(person_id=dolores.id)
    first = _sync(staff, action, [op]).get_json()
    again = _sync(staff, action, [op]).get_json()
    assert first["results"] == [{"id": op["id"], "status": "done", "replayed": False, "person_id": dolores.id,
                                 "name": "Dolores Huerta", "error": None, "ok": True}]
    assert again["results"][0]["replayed"] and again["results"][0]["ok"]
    assert _arrivals(app, action) == 1 and again["count"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckinOp)) == 1


def test_two_devices_checking_in_the_same_person_count_one_arrival(app, make_user, login_as, door):
    action, dolores = door
    phone_a, phone_b = login_as(make_user()), login_as(make_user())
    a = _sync(phone_a, action, [_op(person_id=dolores.id)]).get_json()["results"][0]
    b = _sync(phone_b, action, [_op(person_id=dolores.id)]).get_json()["results"][0]
    assert (a["status"], b["status"]) == ("done", "already") and a["ok"] and b["ok"]
    assert _arrivals(app, action, dolores.id) == 1


def test_the_same_walk_in_entered_on_two_devices_is_one_person(app, make_user, login_as, door):
    action, _dolores = door
    phone_a, phone_b = login_as(make_user()), login_as(make_user())
    with_phone = {"first_name": "Luis", "last_name": "Flores", "phone": "773 555 0199"}
    no_phone = {"first_name": "Ana", "last_name": "Ruiz", "phone": ""}
    _sync(phone_a, action, [_op("walk_in", **with_phone), _op("walk_in", **no_phone)])
    results = _sync(phone_b, action, [_op("walk_in", **with_phone, ), _op("walk_in", first_name="ana", last_name="RUIZ")])
    assert [r["status"] for r in results.get_json()["results"]] == ["already", "already"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person).where(Person.first_name == "Luis")) == 1
        assert db.session.scalar(select(func.count()).select_from(Person).where(Person.first_name == "Ana")) == 1
    assert _arrivals(app, action) == 2


def test_bad_operations_are_reported_one_by_one_and_write_nothing(app, make_user, login_as, door):
    action, dolores = door
    staff = login_as(make_user())
    ops = [_op("walk_in", first_name="Bad", phone="12"), _op("walk_in", first_name=" "),
           {"id": "not-a-uuid", "kind": "check_in", "person_id": dolores.id}, _op("fly", person_id=dolores.id),
           _op(person_id=99999999999), _op(person_id=dolores.id)]
    results = _sync(staff, action, ops).get_json()["results"]
    assert [(r["status"], r["error"]) for r in results] == [
        ("invalid", "phone"), ("invalid", "first_name"), ("invalid", "op"), ("invalid", "op"),
        ("not_found", None), ("done", None)]
    assert _arrivals(app, action) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person).where(Person.first_name == "Bad")) == 0


def test_an_undo_synced_later_removes_the_check_in_once(app, make_user, login_as, door):
    action, dolores = door
    staff = login_as(make_user())
    _sync(staff, action, [_op(person_id=dolores.id)])
    undo = _op("undo", person_id=dolores.id)
    assert _sync(staff, action, [undo]).get_json()["results"][0]["status"] == "done"
    _sync(staff, action, [_op(person_id=dolores.id)])
    # The same undo sent again (its answer was lost) does not remove the newer check-in.
    assert _sync(staff, action, [undo]).get_json()["results"][0]["replayed"]
    assert _arrivals(app, action, dolores.id) == 1


def test_a_leaders_device_sees_and_checks_in_only_their_own_people(
        app, make_user, make_person, add_rsvp, login_as, door):
    action, dolores = door  # nobody's: staff only
    leader, other = make_user("leader"), make_user("leader")
    mine = make_person(owner=leader, first_name="Mine", last_name="Own", phone="+13125550100")
    theirs = make_person(owner=other, first_name="Theirs", last_name="Other", phone="+13125550111")
    add_rsvp(action, mine, "yes")
    add_rsvp(action, theirs, "yes")
    client = login_as(leader)
    roster = client.client.get(f"/actions/{action.id}/checkin/roster").get_json()
    assert [p["name"] for p in roster["people"]] == ["Mine Own"]
    searched = client.client.get(f"/actions/{action.id}/checkin/roster?q=other").get_json()
    assert searched["people"] == []
    results = _sync(client, action, [_op(person_id=mine.id), _op(person_id=theirs.id), _op(person_id=dolores.id),
                                     _op("undo", person_id=theirs.id)]).get_json()["results"]
    assert [r["status"] for r in results] == ["done", "not_found", "not_found", "not_found"]
    assert _arrivals(app, action) == 1
    # A walk-in who is on another leader's list (same phone and name) is checked in, but the
    # record stays theirs and its name is not shown: the leader sees the name they typed.
    walk = _sync(client, action, [_op("walk_in", first_name="theirs", last_name="O.", phone="312 555 0111"),
                                  _op("walk_in", first_name="New", last_name="Friend", phone="312 555 0122")])
    typed, new = walk.get_json()["results"]
    assert (typed["name"], typed["person_id"]) == ("theirs O.", None)
    assert _arrivals(app, action, theirs.id) == 1
    assert new["name"] == "New Friend"
    with app.app_context():
        assert db.session.get(Person, theirs.id).owner_id == other.id
        assert db.session.get(Person, new["person_id"]).owner_id == leader.id  # joins the leader's list
    assert _arrivals(app, action, theirs.id) == 1


def test_an_operation_id_from_another_users_device_reveals_nothing(app, make_user, make_person, login_as, door):
    action, dolores = door
    op = _op(person_id=dolores.id)
    _sync(login_as(make_user()), action, [op])
    replay = _sync(login_as(make_user("leader")), action, [op]).get_json()["results"][0]
    assert (replay["status"], replay["name"], replay["person_id"]) == ("not_found", None, None)


def test_a_sync_without_the_csrf_token_is_refused_and_writes_nothing(app, make_user, login_as, door):
    action, dolores = door
    staff = login_as(make_user())
    response = staff.client.post(f"/actions/{action.id}/checkin/sync", json={"ops": [_op(person_id=dolores.id)]})
    assert response.status_code == 400
    assert _arrivals(app, action) == 0


def test_a_sync_after_the_session_ended_is_refused_and_writes_nothing(app, make_user, login_as, door):
    action, dolores = door
    staff = login_as(make_user())
    token = staff.client.get(f"/actions/{action.id}/checkin/roster").get_json()["csrf_token"]
    staff.logout()
    response = staff.client.post(f"/actions/{action.id}/checkin/sync", json={"ops": [_op(person_id=dolores.id)]},
                                 headers={"X-CSRFToken": token})
    # The page's script reads either answer as "log in again" and keeps its queue.
    assert response.status_code == 400 or response.headers["Location"].startswith("/login")
    assert _arrivals(app, action) == 0


def test_a_sync_that_is_not_a_list_of_operations_is_a_bad_request(make_user, login_as, door):
    action, _dolores = door
    staff = login_as(make_user())
    token = staff.client.get(f"/actions/{action.id}/checkin/roster").get_json()["csrf_token"]
    for body in ({"ops": "x"}, {"ops": [{}] * 501}, ["x"]):
        response = staff.client.post(f"/actions/{action.id}/checkin/sync", json=body, headers={"X-CSRFToken": token})
        assert response.status_code == 400


def test_the_service_worker_is_served_from_the_actions_path_as_a_script(client):
    response = client.get("/actions/checkin-sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert "caches.open" in response.get_data(as_text=True)


def test_the_offline_pages_words_reach_its_script_in_the_users_language(make_user, login_as, door):
    action, _dolores = door
    html = login_as(make_user(locale="es")).client.get(f"/actions/{action.id}/checkin").get_data(as_text=True)
    assert 'data-t-waiting="{n} por sincronizar"' in html and 'data-t-all-synced="Todo sincronizado"' in html
    assert "Confirmación" in html and "Sincronizar ahora" in html  # the RSVP labels and the button
