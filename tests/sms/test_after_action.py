"""After an action, in one step: texts to the turnout page's lists (a stored audience that
counts the people the page lists), follow-ups for each person on a list (once), and the
"did you make it?" text, whose YES replies wait for staff instead of counting as attendance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from organizer.actions.models import Action, Attendance, AttendanceClaim, Rsvp, RsvpStatus
from organizer.actions.services import turnout
from organizer.audit.models import AuditEvent
from organizer.auth.models import User
from organizer.db import utcnow
from organizer.extensions import db
from organizer.relational.models import ActionFollowUp
from organizer.sms import after_action, services
from organizer.sms.models import Mobilization, MobilizationKind, MobilizationPurpose, OutboxMessage

pytestmark = pytest.mark.usefixtures("twilio_app", "org")


@pytest.fixture
def scene(app, make_user, make_person, make_action, add_rsvp, phone_for):
    """Last night's action: two no-shows of two leaders, one no-show without a phone, a
    first-timer of leader one, and a regular who came before."""
    organizer = make_user("organizer")
    leader, other = make_user("leader"), make_user("leader")
    earlier = make_action(days=-30, title="Earlier meeting")
    action = make_action(days=-1, title="Bus hearing")
    people = {
        "no_show_1": make_person(owner=leader, phone=phone_for(1)),
        "no_show_2": make_person(owner=other, phone=phone_for(2)),
        "no_show_no_phone": make_person(),
        "first_timer": make_person(owner=leader, phone=phone_for(3)),
        "regular": make_person(phone=phone_for(4)),
        "said_no": make_person(owner=leader, phone=phone_for(5)),
    }
    for key in ("no_show_1", "no_show_2", "no_show_no_phone"):
        add_rsvp(action, people[key], "yes")
    add_rsvp(action, people["first_timer"], "yes", came=True)
    add_rsvp(earlier, people["regular"], "yes", came=True)
    add_rsvp(action, people["regular"], "yes", came=True)
    add_rsvp(action, people["said_no"], "no")
    return {"organizer": organizer, "leader": leader, "other": other, "action": action, **people}


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


def _audience(which: str, action) -> services.AudienceFilter:
    return services.AudienceFilter(turnout=which, turnout_action_id=action.id)


@pytest.mark.parametrize("role", ["organizer", "leader", "other"])
def test_each_turnout_audience_counts_the_people_the_turnout_page_lists(app, scene, role):
    with app.test_request_context():
        user = _user(scene[role].id)
        action = db.session.get(Action, scene["action"].id)
        page = turnout(action, user)
        no_shows = services.resolve_audience(user, _audience("no_show", action))
        first_timers = services.resolve_audience(user, _audience("first_timer", action))
        came = services.resolve_audience(user, _audience("attended", action))
        assert no_shows.matched == page.no_show_count
        assert first_timers.matched == page.first_timer_count
        assert {p.id for p in page.no_shows} == {r.person_id for r in no_shows.recipients} | (
            {scene["no_show_no_phone"].id} if role == "organizer" else set())
    expected = {"organizer": (3, 1, 2), "leader": (1, 1, 1), "other": (1, 0, 0)}[role]
    assert (no_shows.matched, first_timers.matched, came.matched) == expected


def test_text_the_no_shows_opens_an_editable_draft_to_that_list(app, scene, login_as):
    staff = login_as(scene["organizer"])
    response = staff.post(f"/actions/{scene['action'].id}/turnout/text/no_show")
    assert response.status_code == 302
    with app.app_context():
        mobilization = db.session.scalar(select(Mobilization))
        assert response.location.endswith(f"/sms/{mobilization.id}/edit")
        assert mobilization.audience == {"turnout": "no_show", "turnout_action_id": scene["action"].id}
        assert "we missed you at Bus hearing" in mobilization.body
        recipients = {r.person_id for r in services.audience_of(mobilization, _user(scene["organizer"].id)).recipients}
    assert recipients == {scene["no_show_1"].id, scene["no_show_2"].id}  # the third has no phone
    page = staff.client.get(response.location)
    assert b"we missed you at Bus hearing" in page.data
    assert b'data-testid="turnout-audience"' in page.data
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.object_type == "sms_mobilizations", AuditEvent.action == "create")) == 1


def test_the_draft_keeps_its_turnout_audience_when_saved_from_the_edit_page(app, scene, login_as):
    staff = login_as(scene["organizer"])
    location = staff.post(f"/actions/{scene['action'].id}/turnout/text/first_timer").location
    with app.app_context():
        mobilization = db.session.scalar(select(Mobilization))
        form = {"title": mobilization.title, "body": mobilization.body + " See you soon.", "text_language": "en",
                "turnout": "first_timer", "turnout_action_id": str(scene["action"].id)}
    assert staff.post(location, form).status_code == 302
    with app.app_context():
        mobilization = db.session.scalar(select(Mobilization))
        assert mobilization.body.endswith("See you soon.")
        assert mobilization.audience["turnout"] == "first_timer"
        assert [r.person_id for r in services.audience_of(mobilization, _user(scene["organizer"].id)).recipients] == [
            scene["first_timer"].id]


def test_a_leaders_text_to_the_no_shows_reaches_their_own_people_only(app, scene, login_as):
    leader = login_as(scene["leader"])
    assert leader.post(f"/actions/{scene['action'].id}/turnout/text/no_show").status_code == 302
    with app.app_context():
        mobilization = db.session.scalar(select(Mobilization))
        assert mobilization.kind is MobilizationKind.P2P
        # Whoever looks at it (staff too), it goes to the leader's people.
        for viewer in (scene["leader"], scene["organizer"]):
            assert [r.person_id for r in services.audience_of(mobilization, _user(viewer.id)).recipients] == [
                scene["no_show_1"].id]


def test_the_suggested_text_is_in_the_language_the_user_reads(app, scene):
    with app.test_request_context():
        action = db.session.get(Action, scene["action"].id)
        mobilization = after_action.draft_for_turnout(action, "attended", _user(scene["organizer"].id), "es")
        assert mobilization.text_language == "es"
        assert mobilization.body.startswith("Hola {first_name}, ¡gracias por venir a Bus hearing!")


def test_no_text_to_a_turnout_list_before_the_action_starts(app, scene, make_action, login_as):
    upcoming = make_action(days=3)
    staff = login_as(scene["organizer"])
    response = staff.post(f"/actions/{upcoming.id}/turnout/text/no_show")
    assert response.location.endswith(f"/actions/{upcoming.id}/turnout")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Mobilization)) == 0


def test_follow_ups_for_the_no_shows_go_to_their_leader_once(app, scene, login_as):
    staff = login_as(scene["organizer"])
    url = f"/actions/{scene['action'].id}/turnout/follow-ups/no_show"
    staff.post(url)
    again = staff.post(url, follow_redirects=True)
    assert b"0 follow-ups added. 3 people already had one." in again.data
    with app.app_context():
        rows = {f.person_id: f for f in db.session.scalars(select(ActionFollowUp))}
        assert {pid: f.assigned_to_id for pid, f in rows.items()} == {
            scene["no_show_1"].id: scene["leader"].id, scene["no_show_2"].id: scene["other"].id,
            scene["no_show_no_phone"].id: scene["organizer"].id,  # nobody holds them: the one who asked
        }
        assert all("Bus hearing" in f.note and f.done_at is None for f in rows.values())
        created = [e.details for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "add_follow_ups").order_by(AuditEvent.id))]
        assert [(d["created"], d["skipped"]) for d in created] == [(3, 0), (0, 3)]


def test_a_leaders_follow_ups_cover_their_own_people(app, scene, login_as):
    leader = login_as(scene["leader"])
    leader.post(f"/actions/{scene['action'].id}/turnout/follow-ups/first_timer")
    leader.post(f"/actions/{scene['action'].id}/turnout/follow-ups/no_show")
    with app.app_context():
        rows = db.session.execute(select(ActionFollowUp.person_id, ActionFollowUp.turnout_list,
                                         ActionFollowUp.assigned_to_id)).all()
    assert sorted(rows) == sorted([(scene["first_timer"].id, "first_timer", scene["leader"].id),
                                   (scene["no_show_1"].id, "no_show", scene["leader"].id)])


def _launch_made_it(app, scene) -> int:
    """Draft and launch "did you make it?" as staff, as if Twilio took every text."""
    with app.test_request_context():
        action = db.session.get(Action, scene["action"].id)
        staff = _user(scene["organizer"].id)
        mobilization = after_action.draft_for_turnout(action, "made_it", staff, "en")
        services.launch(mobilization, staff)
        for n, row in enumerate(db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.mobilization_id == mobilization.id))):
            row.sid = f"SM{mobilization.id}x{n}"
        db.session.commit()
        return mobilization.id


def test_did_you_make_it_goes_to_who_said_yes_and_was_not_checked_in(app, scene):
    mobilization_id = _launch_made_it(app, scene)
    with app.app_context():
        mobilization = db.session.get(Mobilization, mobilization_id)
        assert mobilization.purpose is MobilizationPurpose.DID_YOU_MAKE_IT
        assert mobilization.purpose_action_id == scene["action"].id
        texted = set(db.session.scalars(select(OutboxMessage.person_id)))
        assert "Reply YES if you came" in mobilization.body
    assert texted == {scene["no_show_1"].id, scene["no_show_2"].id}


def test_a_yes_to_did_you_make_it_waits_for_staff_and_is_not_attendance(app, scene, login_as):
    _launch_made_it(app, scene)
    with app.test_request_context():
        result = services.receive("SMin1", scene["no_show_1"].phone, "+13125550199", "yes!", utcnow())
        db.session.commit()
        assert result.message.outcome == "says_came"
        assert db.session.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.person_id == scene["no_show_1"].id)) == 0
        rsvp = db.session.scalar(select(Rsvp).where(Rsvp.person_id == scene["no_show_1"].id))
        assert rsvp.status is RsvpStatus.YES
        claim = db.session.scalar(select(AttendanceClaim))
        assert (claim.person_id, claim.action_id, claim.decision) == (scene["no_show_1"].id, scene["action"].id, None)
    page = login_as(scene["organizer"]).client.get(f"/actions/{scene['action'].id}/turnout")
    assert b"1 person says they came" in page.data
    leader_page = login_as(scene["leader"]).client.get(f"/actions/{scene['action'].id}/turnout")
    assert b"says they came" not in leader_page.data  # staff confirm


def test_staff_confirm_a_claim_and_it_becomes_attendance(app, scene, login_as):
    _launch_made_it(app, scene)
    with app.test_request_context():
        services.receive("SMin2", scene["no_show_2"].phone, "+13125550199", "YES", utcnow())
        db.session.commit()
    staff = login_as(scene["organizer"])
    url = f"/actions/{scene['action'].id}/made-it/{scene['no_show_2'].id}/confirm"
    assert staff.post(url).status_code == 302
    assert b"decided already" in staff.post(url, follow_redirects=True).data
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.person_id == scene["no_show_2"].id)) == 1
        claim = db.session.scalar(select(AttendanceClaim))
        assert (claim.decision, claim.decided_by_id) == ("confirmed", scene["organizer"].id)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "confirm_attendance"))
        assert event.details["source"] == "did_you_make_it_reply"
    assert login_as(scene["leader"]).post(url.replace("confirm", "dismiss")).status_code == 403


def test_a_dismissed_claim_records_nothing(app, scene, login_as):
    _launch_made_it(app, scene)
    with app.test_request_context():
        services.receive("SMin3", scene["no_show_1"].phone, "+13125550199", "Yes", utcnow())
        db.session.commit()
    login_as(scene["organizer"]).post(f"/actions/{scene['action'].id}/made-it/{scene['no_show_1'].id}/dismiss")
    with app.app_context():
        assert db.session.scalar(select(AttendanceClaim.decision)) == "dismissed"
        assert db.session.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.person_id == scene["no_show_1"].id)) == 0


def test_a_yes_to_another_text_is_no_claim(app, scene):
    """A YES answers the last text: after "we missed you", it is not "I came"."""
    with app.test_request_context():
        action = db.session.get(Action, scene["action"].id)
        staff = _user(scene["organizer"].id)
        mobilization = after_action.draft_for_turnout(action, "no_show", staff, "en")
        services.launch(mobilization, staff)
        for n, row in enumerate(db.session.scalars(select(OutboxMessage))):
            row.sid = f"SMx{n}"
        db.session.commit()
        result = services.receive("SMin4", scene["no_show_1"].phone, "+13125550199", "YES", utcnow())
        db.session.commit()
        assert result.message.outcome != "says_came"
        assert db.session.scalar(select(func.count()).select_from(AttendanceClaim)) == 0


def test_did_you_make_it_is_offered_only_in_the_days_after_the_action(app, scene, make_action, login_as):
    long_ago = make_action(starts_at=utcnow() - timedelta(days=20))
    staff = login_as(scene["organizer"])
    assert b'data-testid="text-made_it"' in staff.client.get(f"/actions/{scene['action'].id}/turnout").data
    assert b'data-testid="text-made_it"' not in staff.client.get(f"/actions/{long_ago.id}/turnout").data
    staff.post(f"/actions/{long_ago.id}/turnout/text/made_it")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Mobilization)) == 0


def test_follow_ups_from_a_turnout_list_are_on_the_assignees_follow_ups_page(app, scene, login_as):
    login_as(scene["organizer"]).post(f"/actions/{scene['action'].id}/turnout/follow-ups/no_show")
    leader = login_as(scene["leader"])
    page = leader.client.get("/follow-ups")
    assert page.data.count(b'data-testid="follow-after-actions"') == 1
    assert f'/people/{scene["no_show_1"].id}"'.encode() in page.data
    assert f'/people/{scene["no_show_2"].id}"'.encode() not in page.data  # the other leader's
    with app.app_context():
        mine, theirs = (db.session.scalar(select(ActionFollowUp.id).where(ActionFollowUp.person_id == scene[k].id))
                        for k in ("no_show_1", "no_show_2"))
    assert leader.post(f"/follow-ups/action/{theirs}/done").status_code == 404
    assert leader.post(f"/follow-ups/action/{mine}/done").status_code == 302
    with app.app_context():
        assert db.session.get(ActionFollowUp, mine).done_at is not None
        assert db.session.get(ActionFollowUp, theirs).done_at is None
    assert f'/people/{scene["no_show_1"].id}"'.encode() not in leader.client.get("/follow-ups").data


def test_pressing_text_the_no_shows_twice_makes_one_draft(app, scene, login_as):
    import re

    from organizer.submissions.services import FIELD_NAME

    staff = login_as(scene["organizer"])
    page = staff.client.get(f"/actions/{scene['action'].id}/turnout").get_data(as_text=True)
    form = page[page.index("/turnout/text/no_show"):]
    token = re.search(rf'name="{FIELD_NAME}" value="([^"]+)"', form).group(1)
    first = staff.post(f"/actions/{scene['action'].id}/turnout/text/no_show", {FIELD_NAME: token})
    second = staff.post(f"/actions/{scene['action'].id}/turnout/text/no_show", {FIELD_NAME: token})
    assert first.location.endswith("/edit") and second.location == first.location
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Mobilization)) == 1
