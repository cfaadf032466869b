"""The home page says what to do today: follow-ups due (done or rescheduled in one tap), the next
actions with their numbers, unread texts assigned to me, my one-to-ones against my goal, people
going cold and, for staff, suggested emerging leaders; a leader's home is about their own list."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select


def _today(app):
    from organizer.relational.services import local_today

    with app.app_context():
        return local_today()


def _section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1]


def test_home_lists_overdue_and_due_today_follow_ups_and_closes_one_in_a_tap(app, login_as, make_user, make_person):
    from organizer.extensions import db
    from organizer.relational.models import OneToOne

    organizer = make_user("organizer", monthly_one_to_one_goal=4)
    today = _today(app)
    with app.app_context():
        for i in range(9):  # organizer1's nine overdue follow-ups
            person = make_person(first_name=f"Late{i}")
            db.session.add(OneToOne(person_id=person.id, held_by_id=organizer.id, held_on=today - timedelta(days=40),
                                    follow_up_on=today - timedelta(days=i + 1)))
        due = make_person(first_name="DueToday")
        db.session.add(OneToOne(person_id=due.id, held_by_id=organizer.id, held_on=today, follow_up_on=today))
        later = make_person(first_name="NextWeek")
        db.session.add(OneToOne(person_id=later.id, held_by_id=organizer.id, held_on=today,
                                follow_up_on=today + timedelta(days=7)))
        db.session.commit()
    auth = login_as(organizer)
    html = auth.client.get("/").get_data(as_text=True)
    follow = _section(html, "today-follow-ups")
    assert 'data-testid="today-overdue">9<' in follow and 'data-testid="today-due">1<' in follow
    assert "Late8" in follow and "DueToday" in follow  # the most overdue first and "NextWeek" not in follow
    assert "Showing 5 of 9." in follow
    # My month: the two meetings held today, against a goal of 4.
    month = _section(html, "today-one-to-ones")
    assert '<span class="stat">2</span>' in month and "of a goal of 4" in month

    with app.app_context():
        one_id = db.session.scalar(select(OneToOne.id).join(OneToOne.person).where(
            OneToOne.follow_up_on == today))
    form = re.search(rf'action="/follow-ups/{one_id}/done">(.*?)</form>', follow, re.S).group(1)
    assert 'name="next" value="/"' in form
    response = auth.post(f"/follow-ups/{one_id}/done", {"next": "/"})
    assert response.headers["Location"].endswith("/")
    html = auth.client.get("/").get_data(as_text=True)
    assert 'data-testid="today-due">0<' in html


def test_home_shows_the_next_actions_with_goal_committed_yes_and_predicted(app, login_as, make_user, make_person, make_action):
    from organizer.actions.models import Rsvp, RsvpSource, RsvpStatus, TurnoutCommitment
    from organizer.extensions import db

    leader = make_user("leader")
    soon, later, far, farther = (make_action(days=d, title=t, turnout_goal=g) for d, t, g in
                                 ((1, "Soon", 40), (3, "Later", 10), (5, "Far", 5), (9, "Farther", 5)))
    make_action(days=-3, title="Past")
    with app.app_context():
        db.session.add(TurnoutCommitment(action_id=soon.id, leader_id=leader.id, number=8))
        db.session.add(TurnoutCommitment(action_id=soon.id, number=30, committed_by_name="St. Mark"))
        for i in range(3):
            db.session.add(Rsvp(action_id=soon.id, person_id=make_person().id, status=RsvpStatus.YES, source=RsvpSource.ORGANIZER))
        db.session.commit()
    html = login_as(leader).client.get("/").get_data(as_text=True)
    table = _section(html, "today-actions")
    assert "Soon" in table and "Later" in table and "Far<" in table and "Farther" not in table and "Past" not in table
    row = table.split(f'data-action="{soon.id}"')[1].split("</tr>")[0]
    assert 'goal">40<' in row and 'committed">38 ' in row and "8 mine" in row and 'yes">3<' in row
    assert re.search(r'predicted">\d+<', row)


def test_home_counts_unread_texts_assigned_to_me_and_a_leaders_home_is_their_own(app, login_as, make_user, make_person):
    from organizer.extensions import db
    from organizer.sms.models import Conversation

    organizer, leader, other_leader = make_user("organizer"), make_user("leader"), make_user("leader")
    mine, theirs = make_person(owner=leader, first_name="Mine"), make_person(owner=other_leader, first_name="Theirs")
    with app.app_context():
        db.session.add_all([
            Conversation(phone="+13125550101", person_id=mine.id, assigned_to_id=organizer.id, unread=2),
            Conversation(phone="+13125550102", person_id=theirs.id, assigned_to_id=leader.id, unread=5),
            Conversation(phone="+13125550103", person_id=mine.id, unread=7),
        ])
        db.session.commit()
    html = login_as(organizer).client.get("/").get_data(as_text=True)
    assert 'data-testid="count-unread-mine">2<' in html
    assert 'data-testid="today-suggested"' in html
    # Assigned to the leader but about another leader's person: not theirs to read, not counted.
    html = login_as(leader).client.get("/").get_data(as_text=True)
    assert 'data-testid="count-unread-mine">0<' in html
    assert 'data-testid="today-suggested"' not in html and "Theirs" not in html
