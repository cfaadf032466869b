"""Every route, for every role, on a leader's own rows and on someone else's: who gets what.

The routes are read from ``app.url_map``, so a new route fails here until a line for it is
added to ``EXPECTED``. The rows in the URL (a person, a membership, a one-to-one and its
commitment, an RSVP, a target relationship, a turnout commitment, an account, the leader's P2P
mobilization and draft, its text to the person, the person's thread and their reply) belong to
``leader`` or to the leader's person: "leader" is the owner asking, "other leader" is a leader
asking for somebody else's row by id. Rows that are not people's (an action, a campaign, a
target, a stage) are shared; a leader may read those, but never the leader's people in them.

Besides the status codes, the other leader (and anonymous) asks first, changes nothing of
the leader's rows, and never sees a word written about the leader's person (``PRIVATE``).

Each request is sent with a valid CSRF token and an otherwise empty form, so POSTs show
the access decision (403/404/redirect to login) or, once access is granted, the page's
own answer to an empty form: 200 with field errors, or a redirect where the form falls back
to the row's stored values (edit pages) or has nothing required (lone buttons). Where the
person is named in the form rather than the URL, ``FORMS`` names the leader's person, since
an empty form would be turned away before anyone's people are looked at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from organizer import create_app

LOGIN = "login"  # 302 to /login (not signed in)
PRIVATE = "Zqprivate"  # in the leader's person's name and in what was written about them
ANON, LEADER, OTHER, ORGANIZER, ADMIN = ROLES = ("anonymous", "leader", "other leader", "organizer", "admin")

# endpoint: (anonymous, leader (owner), other leader, organizer, admin), for every method the route
# accepts; or {"GET": (...), "POST": (...)} when the methods differ.
EXPECTED: dict[str, tuple | dict[str, tuple]] = {
    "home.index":                         (LOGIN, 200, 200, 200, 200),
    "favicon":                            (200, 200, 200, 200, 200),
    "auth.login":                         (200, 302, 302, 302, 302),  # signed in: sent home
    "auth.logout":                        (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "auth.set_language":                  (302, 302, 302, 302, 302),
    "auth.users":                         (LOGIN, 403, 403, 403, 200),
    "auth.new_user":                      (LOGIN, 403, 403, 403, 200),
    "auth.edit_user":                     {"GET": (LOGIN, 403, 403, 403, 200), "POST": (LOGIN, 403, 403, 403, 302)},
    "auth.login_code":                    (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),  # no password typed here yet
    "auth.account":                       (LOGIN, 200, 200, 200, 200),
    "auth.change_password":               (LOGIN, 400, 400, 400, 400),  # empty form: field errors
    "auth.sign_out_everywhere":           (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),  # signed out: to the login page
    "auth.two_factor":                    (LOGIN, 200, 200, 200, 200),
    "auth.disable_own_two_factor":        (LOGIN, 302, 302, 302, 302),
    "auth.reset_two_factor":              (LOGIN, 403, 403, 403, 302),
    "auth.two_factor_policy":             (LOGIN, 403, 403, 403, 302),
    "audit.index":                        (LOGIN, 403, 403, 403, 200),
    "settings.organization":              {"GET": (LOGIN, 403, 403, 403, 200), "POST": (LOGIN, 403, 403, 403, 302)},
    "settings.lists":                     (LOGIN, 403, 403, 403, 200),
    "institutions.index":                 (LOGIN, 200, 200, 200, 200),
    "institutions.detail":                (LOGIN, 200, 200, 200, 200),
    "institutions.new":                   (LOGIN, 403, 403, 200, 200),
    "institutions.edit":                  {"GET": (LOGIN, 403, 403, 200, 200), "POST": (LOGIN, 403, 403, 302, 302)},
    "people.index":                       (LOGIN, 200, 200, 200, 200),
    "people.new":                         (LOGIN, 200, 200, 200, 200),
    "people.export":                      (LOGIN, 403, 403, 200, 200),
    "people.assign":                      (LOGIN, 403, 403, 302, 302),
    "people.import_csv":                  (LOGIN, 200, 200, 200, 200),  # POST: field errors
    "people.import_confirm":              (LOGIN, 302, 302, 302, 302),  # no upload waiting: back to the form
    "people.import_mapping":              (LOGIN, 302, 302, 302, 302),  # no upload waiting: back to the form
    "people.import_progress_page":        (LOGIN, 404, 404, 404, 404),  # only the uploader's own token
    "people.import_progress":             (LOGIN, 404, 404, 404, 404),
    "people.detail":                      (LOGIN, 200, 404, 200, 200),
    "people.edit":                        (LOGIN, 200, 404, 200, 200),
    "people.conflicts":                   (LOGIN, 403, 403, 200, 200),
    "search.index":                       (LOGIN, 200, 200, 200, 200),
    "people.duplicates":                  (LOGIN, 200, 200, 200, 200),  # each sees pairs within their own list
    "people.merges":                      (LOGIN, 403, 403, 403, 200),
    "people.dismiss_duplicate":           (LOGIN, 404, 404, 302, 302),  # the pair spans two lists
    "people.dismissed_duplicates":        (LOGIN, 200, 200, 200, 200),  # each sees pairs within their own list
    "people.undo_dismissed_duplicate":    (LOGIN, 404, 404, 404, 404),  # no such dismissal
    "people.undo_merge_view":             (LOGIN, 403, 403, 403, 404),
    # the leader's person and the other leader's: no leader may merge across lists; the
    # organizer's merge goes through, so the admin then finds the other record gone
    "people.merge":                       {"GET": (LOGIN, 404, 404, 200, 200), "POST": (LOGIN, 404, 404, 302, 404)},
    "reports.data_quality":               (LOGIN, 404, 404, 200, 200),
    "search.suggest":                     (LOGIN, 200, 200, 200, 200),
    "people.resolve_conflict_view":       (LOGIN, 403, 403, 302, 302),  # no such conflict: back to the list
    "actions.signups_review":             (LOGIN, 403, 403, 200, 200),
    "actions.decide_signup":              (LOGIN, 403, 403, 302, 302),  # no such held sign-up: back to the list
    "actions.decide_pending_rsvp":        (LOGIN, 403, 403, 302, 302),  # the RSVP is a yes, not pending: told so
    "people.archive":                     (LOGIN, 302, 404, 302, 302),
    "people.restore":                     (LOGIN, 302, 404, 302, 302),
    "people.add_membership_view":         (LOGIN, 302, 404, 302, 302),
    "people.remove_membership_view":      (LOGIN, 302, 404, 302, 302),
    # relational: one-to-ones are visible exactly when their person is
    "relational.new_one_to_one":          (LOGIN, 200, 200, 200, 200),  # POST: field errors
    "relational.one_to_one":              (LOGIN, 200, 404, 200, 200),
    "relational.edit_one_to_one":         (LOGIN, 200, 404, 200, 200),  # the leader held it; POST: field errors
    "relational.commitment_status":       (LOGIN, 302, 404, 302, 302),
    "relational.follow_ups_page":         (LOGIN, 200, 200, 200, 200),
    "relational.follow_up_done":          (LOGIN, 302, 404, 302, 302),
    "relational.action_follow_up_done":   (LOGIN, 302, 404, 302, 302),
    "relational.follow_up_reschedule":    (LOGIN, 302, 404, 302, 302),
    "relational.move":                    (LOGIN, 302, 404, 302, 302),  # see FORMS
    "relational.pipeline_board":          (LOGIN, 200, 200, 200, 200),
    "relational.pipeline_funnel":         (LOGIN, 200, 200, 200, 200),
    "relational.pipeline_suggestions":    (LOGIN, 200, 200, 200, 200),
    "relational.pipeline_accountability": (LOGIN, 200, 200, 200, 200),
    "relational.pipeline_raters":         (LOGIN, 403, 403, 200, 200),
    "relational.pipeline_connectors":     (LOGIN, 403, 403, 200, 200),
    "relational.pipeline_network":        (LOGIN, 200, 200, 200, 200),  # a leader: their own people only
    "relational.pipeline_network_json":   (LOGIN, 200, 200, 200, 200),
    "relational.admin_stages":            (LOGIN, 403, 403, 403, 200),  # POST: field errors
    "relational.admin_stage_edit":        (LOGIN, 403, 403, 403, 302),
    "relational.admin_stage_delete":      (LOGIN, 403, 403, 403, 302),
    "relational.admin_issues":            (LOGIN, 403, 403, 403, 200),  # POST: field errors
    # campaigns: shared by everyone signed in, planned by staff; relationships name people
    "campaigns.index":                    (LOGIN, 200, 200, 200, 200),
    "campaigns.new":                      (LOGIN, 403, 403, 200, 200),  # POST: field errors
    "campaigns.detail":                   (LOGIN, 200, 200, 200, 200),
    "campaigns.edit":                     (LOGIN, 403, 403, 200, 200),  # POST: field errors
    "campaigns.power_map_page":           (LOGIN, 200, 200, 200, 200),
    "campaigns.add_target":               (LOGIN, 403, 403, 302, 302),
    "campaigns.move_target":              (LOGIN, 403, 403, 302, 302),
    "campaigns.target":                   (LOGIN, 200, 200, 200, 200),
    "campaigns.edit_target":              {"GET": (LOGIN, 403, 403, 200, 200),
                                           "POST": (LOGIN, 403, 403, 302, 302)},  # falls back to stored values
    "campaigns.add_relationship_view":    (LOGIN, 302, 404, 302, 302),  # see FORMS
    # a relationship of someone else's person is left alone (checked by _leaders_rows)
    "campaigns.remove_relationship_view": (LOGIN, 302, 302, 302, 302),
    # relationships between targets name no people: staff record them, everyone reads them
    "campaigns.add_tie_view":             (LOGIN, 403, 403, 302, 302),  # empty form: told so
    "campaigns.remove_tie_view":          (LOGIN, 403, 403, 302, 302),  # the admin finds it gone: told so
    # actions: shared by everyone signed in; the door, planning and exports are staff's
    "actions.index":                      (LOGIN, 200, 200, 200, 200),
    "actions.new":                        (LOGIN, 403, 403, 200, 200),  # POST: field errors
    "actions.detail":                     (LOGIN, 200, 200, 200, 200),
    "actions.edit":                       (LOGIN, 403, 403, 200, 200),  # POST: field errors
    "actions.archive":                    (LOGIN, 403, 403, 302, 302),
    "actions.commit_institution":         (LOGIN, 403, 403, 302, 302),
    "actions.commit_own":                 (LOGIN, 302, 302, 302, 302),  # empty form: "how many?"
    # someone else's commitment is left alone (checked by _leaders_rows)
    "actions.remove_commitment":          (LOGIN, 302, 302, 302, 302),
    "actions.rsvp":                       (LOGIN, 302, 404, 302, 302),  # see FORMS
    # the door: leaders find and check in their own people (another leader's person is 404)
    "actions.checkin":                    (LOGIN, 200, 200, 200, 200),
    "actions.checkin_post":               (LOGIN, 400, 400, 400, 400),  # empty form: no person to check in
    "actions.checkin_undo":               (LOGIN, 302, 302, 302, 302),
    "actions.walk_in_post":               (LOGIN, 400, 400, 400, 400),  # empty form: field errors, 400
    "actions.checkin_roster_json":        (LOGIN, 200, 200, 200, 200),  # the leader's own people only
    "actions.checkin_sync":               (LOGIN, 400, 400, 400, 400),  # no operations sent
    "actions.checkin_service_worker":     (200, 200, 200, 200, 200),  # a static script
    "actions.sheet":                      (LOGIN, 403, 403, 200, 200),
    "actions.turnout_page":               (LOGIN, 200, 200, 200, 200),
    # the world's action has not started: no list yet, back to the turnout page
    "actions.text_turnout_list":          (LOGIN, 302, 302, 302, 302),
    "actions.add_turnout_follow_ups":     (LOGIN, 302, 302, 302, 302),
    "actions.decide_made_it":             (LOGIN, 403, 403, 302, 302),  # staff confirm; no claim: back
    "actions.export":                     (LOGIN, 403, 403, 200, 200),
    "actions.signup":                     (200, 200, 200, 200, 200),  # public; POST: field errors
    "actions.signup_ics":                 (200, 200, 200, 200, 200),  # public while open for sign-up
    "actions.calendar_ics":               (LOGIN, 200, 200, 200, 200),
    # sms: staff compose anything and read every thread; a leader texts their own list one at a
    # time (P2P) and reads the threads of the people they own
    "sms.index":                          (LOGIN, 200, 200, 200, 200),
    "sms.new":                            (LOGIN, 200, 200, 200, 200),  # POST: field errors
    "sms.preview":                        (LOGIN, 200, 200, 200, 200),
    "sms.edit":                           (LOGIN, 200, 404, 200, 200),  # the draft; POST: field errors
    "sms.detail":                         (LOGIN, 200, 404, 200, 200),
    "sms.progress_json":                  (LOGIN, 200, 404, 200, 200),
    "sms.launch":                         (LOGIN, 302, 404, 302, 302),  # the draft
    "sms.test":                           (LOGIN, 302, 404, 302, 302),  # the draft; empty form: "which number?"
    "sms.cancel":                         (LOGIN, 302, 404, 302, 302),
    "sms.resume":                         (LOGIN, 302, 404, 302, 302),
    "sms.p2p":                            (LOGIN, 200, 404, 200, 200),  # POST: empty form, the page again
    "sms.finish":                         (LOGIN, 302, 404, 302, 302),
    "sms.resolve_unknown":                (LOGIN, 403, 403, 302, 302),
    "sms.inbox":                          (LOGIN, 200, 200, 200, 200),
    "sms.thread":                         (LOGIN, 200, 404, 200, 200),
    "sms.reply":                          (LOGIN, 302, 404, 302, 302),  # empty form: "write a reply first"
    "sms.assign":                         (LOGIN, 403, 403, 302, 302),
    "sms.match":                          (LOGIN, 403, 403, 302, 302),
    "sms.review":                         (LOGIN, 302, 404, 302, 302),
    "sms.record_reply_rsvp":              (LOGIN, 302, 404, 302, 302),  # empty form: "choose an answer"
    "sms.undo_reply_rsvp":                (LOGIN, 302, 404, 302, 302),  # nothing recorded: said so
    # numbers shared across lists (staff decide) and verified test numbers (admins)
    "sms.conflicts":                      (LOGIN, 403, 403, 200, 200),
    "sms.resolve_conflict":               (LOGIN, 403, 403, 302, 302),
    "sms.test_numbers":                   (LOGIN, 403, 403, 403, 200),  # POST: field errors
    "sms.remove_test_number":             (LOGIN, 403, 403, 403, 302),
    # Twilio's webhooks: nobody without a valid X-Twilio-Signature, signed in or not
    "sms.flagged":                        (LOGIN, 403, 403, 200, 200),
    "sms.clear_flag":                     (LOGIN, 403, 403, 302, 302),  # no number named: "no flag"
    "sms.quiet_hours":                    (LOGIN, 403, 403, 403, 200),  # POST: field errors
    "sms.remove_state_rule":              (LOGIN, 403, 403, 403, 302),  # no state named: back to the list
    "sms.inbound":                        (403, 403, 403, 403, 403),
    "sms.status_callback":                (403, 403, 403, 403, 403),
    # reports: race/ethnicity is staff-only, so for leaders every report does not exist (404)
    "reports.index":                      (LOGIN, 404, 404, 302, 302),
    "reports.equity":                     (LOGIN, 404, 404, 200, 200),
    "reports.equity_export":              (LOGIN, 404, 404, 200, 200),
    "reports.population_page":            (LOGIN, 404, 404, 200, 200),
    "reports.population_save":            (LOGIN, 404, 404, 403, 200),  # admins; POST: field errors
    "reports.population_import":          (LOGIN, 404, 404, 403, 200),  # admins; POST: field errors
    "reports.scorecard":                  (LOGIN, 404, 404, 200, 200),
    "reports.add_indicator":              (LOGIN, 404, 404, 302, 302),  # empty form: errors flashed
    "reports.add_point":                  (LOGIN, 404, 404, 302, 302),
    "reports.add_win":                    (LOGIN, 404, 404, 302, 302),
    "reports.set_target":                 (LOGIN, 404, 404, 302, 302),
}

# POSTs whose person is in the form: the leader's person, named by whoever is asking.
FORMS = {
    "relational.move": lambda w: {"person_id": w.person.id, "stage_id": w.stage_id},
    "actions.rsvp": lambda w: {"person_id": w.person.id, "status": "maybe"},
    "campaigns.add_relationship_view": lambda w: {"person_id": w.person.id, "kind": "acquaintance"},
}

# How to fill each URL argument from the rows of ``world`` (all owned by ``leader``).
ROW_ARGS = {
    "person_id": lambda w: w.person.id,
    "membership_id": lambda w: w.membership_id,
    "institution_id": lambda w: w.institution.id,
    "user_id": lambda w: w.users[LEADER].id,
    "one_to_one_id": lambda w: w.one_to_one_id,
    "commitment_id": lambda w: w.one_to_one_commitment_id,
    "stage_id": lambda w: w.stage_id,
    "campaign_id": lambda w: w.campaign_id,
    "link_id": lambda w: w.link_id,
    "target_id": lambda w: w.target_id,
    "relationship_id": lambda w: w.relationship_id,
    "tie_id": lambda w: w.tie_id,
    "action_id": lambda w: w.action_id,
    "kind": lambda w: "signin",  # the sign-in list; the turnout export has the same guard
    "token": lambda w: w.signup_token,
    "mobilization_id": lambda w: w.mobilization_id,
    "outbox_id": lambda w: w.outbox_id,
    "conversation_id": lambda w: w.conversation_id,
    "message_id": lambda w: w.message_id,
    "conflict_id": lambda w: w.conflict_id,
    "number_id": lambda w: w.number_id,
    "decision": lambda w: "confirm",  # an opt-out review: the one that changes the most
    "rsvp_id": lambda w: w.rsvp_id,
    "which": lambda w: "no_show",
    "follow_up_id": lambda w: w.action_follow_up_id,
    "kept_id": lambda w: w.person.id,
    "other_id": lambda w: w.others_person_id,
    "first_id": lambda w: w.person.id,  # a pair across two lists: "not the same person"
    "second_id": lambda w: w.others_person_id,
    "dismissal_id": lambda w: 0,  # none yet: the guard is what is checked
    "merge_id": lambda w: 0,  # no merge yet: the undo's guard is what is checked
    "held_id": lambda w: 0,  # held sign-ups and duplicate conflicts belong to nobody's list: staff's alone
}
# Where the same argument name means another table's row.
ENDPOINT_ARGS = {
    "actions.remove_commitment": {"commitment_id": lambda w: w.turnout_commitment_id},
    # a draft, so that editing, a test text and the launch go as far as they can
    "sms.edit": {"mobilization_id": lambda w: w.draft_id},
    "sms.launch": {"mobilization_id": lambda w: w.draft_id},
    "sms.test": {"mobilization_id": lambda w: w.draft_id},
    "sms.resolve_unknown": {"decision": lambda w: "resend"},
    "sms.resolve_conflict": {"decision": lambda w: "allow"},
    "actions.decide_signup": {"decision": lambda w: "accept"},
    "people.resolve_conflict_view": {"conflict_id": lambda w: 0},
}


def _endpoints() -> list[str]:
    app = create_app("testing")
    return sorted({rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"})


@dataclass
class World:
    users: dict
    person: object
    institution: object
    membership_id: int
    one_to_one_id: int
    one_to_one_commitment_id: int
    stage_id: int
    campaign_id: int
    link_id: int
    target_id: int
    relationship_id: int
    action_id: int
    turnout_commitment_id: int
    rsvp_id: int
    signup_token: str
    mobilization_id: int
    draft_id: int
    outbox_id: int
    conversation_id: int
    message_id: int
    unknown_conversation_id: int
    conflict_id: int
    number_id: int
    action_follow_up_id: int
    others_person_id: int = 0  # the other leader's person: a merge across two lists
    tie_id: int = 0  # the target's relationship with another target on the map


@pytest.fixture
def world(app, make_user, make_person, make_institution) -> World:
    """The leader's person with a one-to-one (a commitment, an open follow-up), a pipeline stage,
    a membership, a campaign whose target the person knows, and an action with the leader's
    turnout commitment and the person's RSVP; made through the areas' services."""
    from datetime import timedelta

    from organizer.actions.models import Action, ActionType, RsvpStatus
    from organizer.actions.services import rsvp_by_user, save_commitment
    from organizer.auth.models import User
    from organizer.campaigns.models import Position, RelationshipKind, TieKind
    from organizer.campaigns.services import (
        CampaignData,
        TargetData,
        add_relationship,
        add_tie,
        put_on_map,
        save_campaign,
        save_target,
    )
    from organizer.db import utcnow
    from organizer.extensions import db
    from organizer.institutions.models import Membership
    from organizer.people.models import Person
    from organizer.relational.models import ActionFollowUp, CommitmentKind
    from organizer.relational.services import (
        CommitmentData,
        OneToOneData,
        local_today,
        log_one_to_one,
        move_person,
        save_stage,
    )
    from sqlalchemy import select

    from organizer.people.models import PhoneConflict
    from organizer.people.services import PersonData, create_person
    from organizer.sms.models import VerifiedNumber
    from organizer.sms.services import AudienceFilter, launch, p2p_send, receive, save_mobilization

    users = {LEADER: make_user("leader"), OTHER: make_user("leader"),
             ORGANIZER: make_user("organizer"), ADMIN: make_user("admin")}
    person = make_person(owner=users[LEADER], last_name=PRIVATE, phone="+13125550101")
    others_person = make_person(owner=users[OTHER])
    institution = make_institution()
    with app.app_context():
        leader = db.session.get(User, users[LEADER].id)
        organizer = db.session.get(User, users[ORGANIZER].id)
        mine = db.session.get(Person, person.id)
        membership = Membership(person_id=person.id, institution_id=institution.id)
        db.session.add(membership)
        one = log_one_to_one(OneToOneData(
            held_on=local_today(), person_id=person.id, story=f"{PRIVATE} story",
            commitments=[CommitmentData(kind=CommitmentKind.JOIN_TEAM, note=f"{PRIVATE} promise")],
            follow_up_on=local_today() + timedelta(days=7)), leader, region="US")
        stage = save_stage(None, name="Matrix stage", position=50, description="", suggest_for=False,
                           actor=organizer)
        move_person(mine, stage, leader, f"{PRIVATE} reason")
        campaign = save_campaign(None, CampaignData(name="Bus line 9"), organizer)
        target = save_target(None, TargetData(name="Alderperson Ruiz"), organizer)
        link = put_on_map(campaign, target, Position.UNDECIDED, 3, organizer)
        relationship = add_relationship(target, RelationshipKind.CONSTITUENT, leader, person=mine,
                                        note=f"{PRIVATE} knows her")
        donor = save_target(None, TargetData(name="Developer Lee"), organizer)
        put_on_map(campaign, donor, Position.OPPONENT, 2, organizer)
        tie = add_tie(target, donor, TieKind.DONOR, organizer, outgoing=False)
        starts = utcnow() + timedelta(days=7)
        action = Action(title="Hearing on line 9", type=ActionType.HEARING, campaign_id=campaign.id,
                        starts_at=starts, ends_at=starts + timedelta(hours=2), timezone="America/Chicago",
                        turnout_goal=40)
        db.session.add(action)
        db.session.flush()
        commitment = save_commitment(action, 8, leader)
        rsvp = rsvp_by_user(action, mine, RsvpStatus.YES, leader)
        # a follow-up from a turnout list, the leader's, with the leader's person
        follow_up = ActionFollowUp(action_id=action.id, person_id=person.id, turnout_list="no_show",
                                   assigned_to_id=leader.id, due_on=local_today(), note=f"{PRIVATE} follow-up")
        db.session.add(follow_up)
        # sms: the leader's P2P text to their own list, sent to their person, who answers
        # (a reply an organizer must review); a draft; a stranger's number writing in.
        texts = save_mobilization(None, title="Hearing reminder", body="Hi {first_name}, hearing Tuesday!",
                                  audience=AudienceFilter(), actor=leader)
        launch(texts, leader)
        outbox = p2p_send(texts, leader, person.id)
        answer = receive("SMmatrix1", "+13125550101", "", f"{PRIVATE} here, please remove me from this list")
        draft = save_mobilization(None, title="Next week", body="Hi {first_name}", audience=AudienceFilter(),
                                  actor=leader)
        stranger = receive("SMmatrix2", "+13125550177", "", f"{PRIVATE}? who is this")
        # The other leader types the leader's person's number into a record of their own;
        # an admin verified the leader's mobile for test texts.
        copy = create_person(PersonData(first_name="Copy", phone="+13125550101"),
                             db.session.get(User, users[OTHER].id), region="US")
        conflict_id = db.session.scalar(select(PhoneConflict.id).where(PhoneConflict.person_id == copy.id))
        number = VerifiedNumber(user_id=leader.id, phone="+13125550102")
        db.session.add(number)
        db.session.commit()
        return World(
            users=users, person=person, institution=institution, membership_id=membership.id,
            one_to_one_id=one.id, one_to_one_commitment_id=one.commitments[0].id, stage_id=stage.id,
            campaign_id=campaign.id, link_id=link.id, target_id=target.id, relationship_id=relationship.id,
            action_id=action.id, turnout_commitment_id=commitment.id, rsvp_id=rsvp.id,
            signup_token=action.signup_token, others_person_id=others_person.id,
            mobilization_id=texts.id, draft_id=draft.id, outbox_id=outbox.id,
            conversation_id=answer.message.conversation_id, message_id=answer.message.id,
            unknown_conversation_id=stranger.message.conversation_id,
            conflict_id=conflict_id, number_id=number.id, action_follow_up_id=follow_up.id, tie_id=tie.id,
        )


def _leaders_rows(app, world: World) -> tuple:
    """What the other leader must leave as it was: the leader's person and the rows about them."""
    from sqlalchemy import select

    from organizer.actions.models import Rsvp, TurnoutCommitment
    from organizer.campaigns.models import TargetRelationship
    from organizer.extensions import db
    from organizer.institutions.models import Membership
    from organizer.people.models import Person
    from organizer.relational.models import Commitment, OneToOne, PersonPipeline
    from organizer.sms.models import Conversation, InboundMessage, Mobilization, OutboxMessage, PhoneOptOut

    with app.app_context():
        person = db.session.get(Person, world.person.id)
        one = db.session.get(OneToOne, world.one_to_one_id)
        commitment = db.session.get(Commitment, world.one_to_one_commitment_id)
        rsvp = db.session.scalar(select(Rsvp).where(Rsvp.action_id == world.action_id,
                                                     Rsvp.person_id == world.person.id))
        turnout = db.session.get(TurnoutCommitment, world.turnout_commitment_id)
        conversation = db.session.get(Conversation, world.conversation_id)
        answer = db.session.get(InboundMessage, world.message_id)
        return (
            (person.archived_at, person.owner_id, person.first_name, person.updated_at),
            db.session.get(Membership, world.membership_id) is not None,
            (one.follow_up_on, one.follow_up_done_at),
            (commitment.status, commitment.marked_at),
            db.session.get(PersonPipeline, world.person.id).stage_id,
            sorted(db.session.scalars(select(TargetRelationship.id)
                                      .where(TargetRelationship.person_id == world.person.id))),
            (turnout.number, turnout.note) if turnout else None,
            (rsvp.status, rsvp.updated_at) if rsvp else None,
            (person.sms_consent, db.session.scalar(select(PhoneOptOut.id).where(PhoneOptOut.phone == person.phone))),
            [(m.status, m.title) for m in (db.session.get(Mobilization, world.mobilization_id),
                                           db.session.get(Mobilization, world.draft_id))],
            sorted(db.session.execute(select(OutboxMessage.id, OutboxMessage.status)
                                      .where(OutboxMessage.phone == person.phone)).all()),
            (conversation.person_id, conversation.assigned_to_id, conversation.unread),
            (answer.needs_review, answer.outcome),
        )


def test_every_route_has_a_line_in_the_matrix():
    missing = [e for e in _endpoints() if e not in EXPECTED]
    assert not missing, (
        f"routes without authorization expectations: {missing}. Add one line per endpoint to EXPECTED "
        "in tests/test_authorization_matrix.py (anonymous, leader, other leader, organizer, admin)."
    )


def test_the_matrix_names_no_route_that_is_gone():
    assert not set(EXPECTED) - set(_endpoints())


WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _outcome(response) -> int | str:
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        return LOGIN
    return response.status_code


@pytest.mark.parametrize("endpoint", _endpoints())
def test_route_answers_each_role_as_expected(app, world, login_as, count_queries, endpoint):
    from tests.conftest import AuthActions

    if endpoint not in EXPECTED:
        pytest.fail(f"{endpoint} has no line in EXPECTED (tests/test_authorization_matrix.py): add one")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    unknown = set(rule.arguments) - set(ROW_ARGS)
    assert not unknown, f"add how to fill {unknown} to ROW_ARGS in tests/test_authorization_matrix.py"
    args = {**ROW_ARGS, **ENDPOINT_ARGS.get(endpoint, {})}
    url = rule.build({arg: args[arg](world) for arg in rule.arguments}, append_unknown=False)[1]
    expected = EXPECTED[endpoint]
    methods = [m for m in ("GET", "POST") if m in rule.methods]
    wrong = []
    for method in methods:
        codes = dict(zip(ROLES, expected[method] if isinstance(expected, dict) else expected, strict=True))
        # Outsiders first, so that an owner's delete or archive cannot hide what they could have done.
        for role in (ANON, OTHER, LEADER, ORGANIZER, ADMIN):
            actions = AuthActions(app.test_client()) if role == ANON else login_as(world.users[role])
            before = _leaders_rows(app, world) if role in (ANON, OTHER) else None
            if method == "GET":
                with count_queries() as q:
                    response = actions.client.get(url)
                writes = [statement[:60] for statement in q.statements if WRITE.match(statement)]
                if writes and not getattr(app.view_functions[endpoint], "organizer_writes_on_get", False):
                    wrong.append(f"GET {url} as {role} wrote ({writes[0]}...) but its view is not marked "
                                 "writes_on_get (organizer/db.py): on SQLite its read would fail to become a write")
            else:
                response = actions.post(url, FORMS[endpoint](world) if endpoint in FORMS else {})
            got = _outcome(response)
            if got != codes[role]:
                wrong.append(f"{method} {url} as {role}: expected {codes[role]}, got {got}")
            if role in (ANON, OTHER):
                if PRIVATE.encode() in response.get_data():  # bytes: a download may be binary
                    wrong.append(f"{method} {url} as {role}: shows the leader's person's private details")
                if _leaders_rows(app, world) != before:
                    wrong.append(f"{method} {url} as {role}: changed the leader's person's rows")
    assert not wrong, "\n".join(wrong)


def test_an_unknown_numbers_thread_is_staffs_only(app, world, login_as):
    """A number that belongs to nobody yet: no leader owns it, so no leader reads it."""
    from tests.conftest import AuthActions

    url = f"/sms/inbox/{world.unknown_conversation_id}"
    expected = dict(zip(ROLES, (LOGIN, 404, 404, 200, 200), strict=True))
    for role in ROLES:
        actions = AuthActions(app.test_client()) if role == ANON else login_as(world.users[role])
        response = actions.client.get(url)
        assert _outcome(response) == expected[role], role
        assert (PRIVATE in response.get_data(as_text=True)) is (expected[role] == 200), role
