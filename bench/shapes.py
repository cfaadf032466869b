"""The two standard benchmark databases, built once by ``bench.common.database_app`` and cached.

* ``peer`` (``build_peer``): a federation like ours today. 20,000 residents, 200 institutions,
  25 tags, 500 actions (60% prep meetings tied to a major action), about 50,000 attendances,
  leadership stages for 8,000 people, 40,000 one-to-ones, 50,000 texts and 1,500 threads.
* ``large`` (``build_large``): ten years on. 100,000 residents, 300,000 one-to-ones (stages for
  60,000 people), 1,000,000 texts, 20,000 threads with 40,000 replies, and the action figures'
  history (40 past actions with 1,500 RSVPs each).

Both hold the measured action (started 30 minutes ago; 1,500 RSVPs on peer, 5,000 on large),
the same accounts (``admin@bench.local``, ``organizer1@bench.local``... password ``PASSWORD``)
and two tags for the texting figures: "Dispatch list" (people 1-10,000) and "Launch list"
(people 1-50,000, all opted in with a phone). Rows go in with Core ``insert()`` executemany,
in chunks, from a seeded ``random.Random`` so every build is the same.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import islice

from flask import Flask
from sqlalchemy import insert, text

PASSWORD = "bench-password"  # noqa: S105 - a throwaway local database
ADMIN = "admin@bench.local"
ORGANIZER = "organizer1@bench.local"
MEASURED_TOKEN = "bench-measured"
DISPATCH_TAG, LAUNCH_TAG = 1, 2
DISPATCH_PEOPLE, LAUNCH_PEOPLE = 10_000, 50_000
CHUNK = 20_000

FIRST = ["Maria", "José", "Keisha", "Linh", "Fatima", "David", "Rosa", "Andre", "Mei", "Omar", "Ramón"]
LAST = ["García", "Johnson", "Nguyen", "Ali", "Cohen", "Kowalski", "Patel", "Reyes", "Carter", "Chen"]
TAGS = ["Housing team", "Transit team", "Wages team", "Youth", "Spanish speaker", "Vietnamese speaker",
        "Arabic speaker", "Driver", "Childcare", "Translator", "Researcher", "Media", "Faith leader",
        "Teacher", "Nurse", "Tenant", "Union member", "Small business", "Parent", "Senior", "Student",
        "Artist", "Volunteer"]
MAJOR_TYPES = ["hearing", "accountability_session", "public_meeting", "rally"]
PREP_TYPES = ["house_meeting", "research_meeting", "training"]
BODIES = ["Hearing Tuesday 6pm at City Hall, {}! Reply YES to come.", "{}, the housing action is Saturday 10am.",
          "Thank you for coming, {}! Next meeting Thursday."]


@dataclass(frozen=True)
class Shape:
    seed: int
    people: int
    institutions: int
    neighborhoods: int
    organizers: int
    leaders: int
    met: int  # people with one-to-ones and a pipeline row
    one_to_ones: int
    majors: int  # past major actions, plus the measured one
    preps: int  # prep meetings, each tied to a major action
    major_rsvps: int
    prep_rsvps: int
    measured_rsvps: int
    mobilizations: int
    texts: int
    threads: int


PEER = Shape(seed=11, people=20_000, institutions=200, neighborhoods=12, organizers=8, leaders=120, met=8_000,
             one_to_ones=40_000, majors=199, preps=300, major_rsvps=360, prep_rsvps=75, measured_rsvps=1_500,
             mobilizations=20, texts=50_000, threads=1_500)
LARGE = Shape(seed=7, people=100_000, institutions=300, neighborhoods=20, organizers=20, leaders=300, met=60_000,
              one_to_ones=300_000, majors=40, preps=60, major_rsvps=1_500, prep_rsvps=100, measured_rsvps=5_000,
              mobilizations=60, texts=1_000_000, threads=20_000)


def build_peer(app: Flask) -> None:
    """Fill an empty, migrated database with the peer shape."""
    _build(PEER)


def build_large(app: Flask) -> None:
    """Fill an empty, migrated database with the large shape."""
    _build(LARGE)


def phone_of(person_id: int) -> str:
    return f"+1312{5_000_000 + person_id:07d}"


def _put(model, rows: Iterable[dict]) -> None:
    """Insert ``rows`` (any iterable, consumed lazily) with executemany, ``CHUNK`` at a time.

    Into the model's table, not through the ORM: an ORM bulk insert leaves out each row's
    ``None`` values, so rows with different blanks became separate statements (thousands per
    table), which made most of the build's time.
    """
    from organizer.extensions import db

    table = getattr(model, "__table__", model)
    rows = iter(rows)
    while chunk := list(islice(rows, CHUNK)):
        db.session.execute(insert(table), chunk)


@contextlib.contextmanager
def statement_triggers_off(connection) -> Iterator[None]:
    """On PostgreSQL, the reports' statement triggers (those alone) off for the build, and the
    version bumped once after. ``_put``'s executemany is one statement per row there, and a
    million statements each bumping the same version row in one transaction slowed to a crawl
    (the build had not finished its memberships after 15 minutes). ``ALTER TABLE`` locks each
    table until the commit: fine for a build nothing else reads, which is why the app's imports
    use COPY instead.
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    # Only these: the row triggers that keep counts (the turnout's) must run for every row.
    triggers = connection.execute(text(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgname LIKE 'report_data_%'")).all()
    for table, trigger in triggers:
        connection.execute(text(f'ALTER TABLE {table} DISABLE TRIGGER "{trigger}"'))
    yield
    for table, trigger in triggers:
        connection.execute(text(f'ALTER TABLE {table} ENABLE TRIGGER "{trigger}"'))
    # What each trigger runs (migration d7a4c2e9f1b6), once.
    connection.execute(text(
        "INSERT INTO report_data_versions (slot, version, stamp) VALUES (pg_backend_pid(), 1, "
        "floor(random() * 1099511627776)::bigint) ON CONFLICT (slot) DO UPDATE SET "
        "version = report_data_versions.version + 1, stamp = floor(random() * 1099511627776)::bigint"))


def _build(s: Shape) -> None:
    from organizer.extensions import db
    from organizer.people import search_index
    from organizer.reports.data_version import bulk_inserts

    rng = random.Random(s.seed)  # noqa: S311 - benchmark data
    now = datetime.now(UTC)
    # The build is one transaction: with SQLite's 2 MB default cache, dirty index pages (phone,
    # person_id: random order) were spilled to the WAL again and again.
    if db.engine.dialect.name == "sqlite":  # BENCH_DATABASE_URL may name a PostgreSQL database
        db.session.execute(text("PRAGMA cache_size = -262144"))
    # The reports' data version is bumped once for the whole build, not by a trigger per row.
    connection = db.session.connection()
    with bulk_inserts(connection, list(db.metadata.tables)), search_index.bulk_people(connection), \
            statement_triggers_off(connection):
        users = _foundation(s, rng, now)
        _relational(s, rng, now, users)
        _actions(s, rng, now, users)
        _texts(s, rng, now, users)
    if db.engine.dialect.name == "postgresql":
        # The rows were given their ids: move each id sequence past them, or the app's next
        # insert (an import) would take id 1 again.
        for table in db.metadata.sorted_tables:
            if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement is not False:
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608 - own table names
                    f"(SELECT COALESCE(max(id), 0) + 1 FROM {table.name}), false) "
                    f"WHERE pg_get_serial_sequence('{table.name}', 'id') IS NOT NULL"))
    db.session.commit()
    db.session.execute(text("ANALYZE"))  # planner statistics, as a maintained database would have
    db.session.commit()


def _foundation(s: Shape, rng: random.Random, now: datetime) -> dict:
    """Organization, users, institutions, people with memberships and tags; returns who owns whom."""
    from werkzeug.security import generate_password_hash

    from organizer.auth.models import User
    from organizer.extensions import db
    from organizer.institutions.models import Institution, Membership
    from organizer.people.models import Person, person_tags
    from organizer.settings.models import Neighborhood, Organization, Tag

    _put(Organization, [{"id": 1, "name": "Bench Federation", "timezone": "America/Chicago",
                         "default_phone_region": "US", "sms_help_text": "", "going_cold_days": 90}])
    _put(Neighborhood, ({"id": i, "name": f"Neighborhood {i}"} for i in range(1, s.neighborhoods + 1)))
    _put(Institution, ({"id": i, "name": f"Congregation {i}", "type": "congregation", "status": "member",
                        "neighborhood_id": rng.randint(1, s.neighborhoods), "created_at": now, "updated_at": now}
                       for i in range(1, s.institutions + 1)))
    tags = ["Dispatch list", "Launch list", *TAGS]
    _put(Tag, ({"id": i, "name": name} for i, name in enumerate(tags, start=1)))

    password_hash = generate_password_hash(PASSWORD)
    organizer_ids = list(range(2, s.organizers + 2))
    leader_ids = list(range(s.organizers + 2, s.organizers + 2 + s.leaders))
    users = [{"id": 1, "email": ADMIN, "name": "Admin", "role": "admin", "monthly_one_to_one_goal": None}]
    users += [{"id": uid, "email": f"organizer{i}@bench.local", "name": f"Organizer {i}", "role": "organizer",
               "monthly_one_to_one_goal": 30} for i, uid in enumerate(organizer_ids, start=1)]
    users += [{"id": uid, "email": f"leader{uid}@bench.local", "name": f"Leader {uid}", "role": "leader",
               "monthly_one_to_one_goal": 6} for uid in leader_ids]
    for u in users:
        u.update(password_hash=password_hash, active=True, created_at=now)
    _put(User, users)

    owners = [rng.choice(leader_ids) if rng.random() < 0.6 else rng.choice(organizer_ids)
              for _ in range(s.people + 1)]

    def consent(pid: int) -> str:
        if pid <= LAUNCH_PEOPLE:
            return "opted_in"
        return rng.choices(["opted_in", "unknown", "opted_out"], weights=[85, 10, 5])[0]

    _put(Person, ({"id": pid, "first_name": rng.choice(FIRST), "last_name": f"{rng.choice(LAST)}{pid % 997}",
                   "phone": phone_of(pid), "neighborhood_id": rng.randint(1, s.neighborhoods),
                   "owner_id": owners[pid], "sms_consent": consent(pid),
                   "created_at": now - timedelta(days=rng.randint(1, 900)), "updated_at": now}
                  for pid in range(1, s.people + 1)))
    _put(Membership, ({"person_id": pid, "institution_id": rng.randint(1, s.institutions), "role": "member"}
                      for pid in range(1, s.people + 1) if rng.random() < 0.7))
    _put(person_tags, _tagging(s, rng, len(tags)))
    # Each leader's account is linked to a person of their own (for the relational network).
    for uid, pid in zip(leader_ids, rng.sample(range(1, s.people + 1), s.leaders), strict=True):
        db.session.execute(text("UPDATE users SET person_id = :p WHERE id = :u"), {"p": pid, "u": uid})
    return {"owners": owners, "organizers": organizer_ids, "leaders": leader_ids}


def _tagging(s: Shape, rng: random.Random, tag_count: int) -> Iterator[dict]:
    for pid in range(1, s.people + 1):
        if pid <= DISPATCH_PEOPLE:
            yield {"person_id": pid, "tag_id": DISPATCH_TAG}
        if pid <= LAUNCH_PEOPLE:
            yield {"person_id": pid, "tag_id": LAUNCH_TAG}
        for tag in rng.sample(range(3, tag_count + 1), rng.choice([0, 0, 1, 1, 2])):
            yield {"person_id": pid, "tag_id": tag}


def _relational(s: Shape, rng: random.Random, now: datetime, users: dict) -> None:
    """One-to-ones (with follow-ups and commitments) and stages for ``s.met`` people."""
    from organizer.extensions import db
    from organizer.relational.models import Commitment, OneToOne, PersonPipeline, StageMove

    today = now.date()
    owners, organizer_ids = users["owners"], users["organizers"]
    stage_ids = [sid for (sid,) in db.session.execute(text("SELECT id FROM stages ORDER BY position"))]
    assert stage_ids, "the migration seeds the stages"
    met = rng.sample(range(1, s.people + 1), s.met)
    per_person = [s.one_to_ones // s.met] * s.met
    for i in range(s.one_to_ones - sum(per_person)):
        per_person[i] += 1
    ones, pipeline, moves, commitments = [], [], [], []
    one_id = 0
    for pid, n in zip(met, per_person, strict=True):
        days = sorted((rng.randint(0, 540) for _ in range(n)), reverse=True)
        latest = None
        for k, ago in enumerate(days):
            one_id += 1
            day = today - timedelta(days=ago)
            assessment = rng.randint(1, 5) if rng.random() < 0.8 else None
            latest = assessment or latest
            follow = day + timedelta(days=rng.randint(5, 30)) if rng.random() < 0.8 else None
            done = None if (k == n - 1 and rng.random() < 0.5) or follow is None else \
                datetime.combine(follow, time(18), tzinfo=UTC)
            holder = owners[pid] if rng.random() < 0.85 else rng.choice(organizer_ids)
            ones.append({"id": one_id, "person_id": pid, "held_by_id": holder, "held_on": day,
                         "duration_minutes": 40, "mode": "in_person", "assessment": assessment,
                         "self_interest": "Rent and wages", "follow_up_on": follow,
                         "follow_up_done_at": done, "created_at": now})
            if rng.random() < 0.3:
                commitments.append({"one_to_one_id": one_id, "kind": "attend_action",
                                    "status": rng.choice(["open", "kept", "not_kept"])})
        level = min(len(stage_ids) - 1, int(rng.triangular(0, len(stage_ids), 0.5)))
        entered = now - timedelta(days=rng.randint(1, 500))
        for step in range(1, level + 1):
            moves.append({"person_id": pid, "from_stage_id": stage_ids[step - 1], "to_stage_id": stage_ids[step],
                          "moved_at": entered - timedelta(days=30 * (level - step)), "moved_by_id": organizer_ids[0]})
        pipeline.append({"person_id": pid, "stage_id": stage_ids[level], "entered_at": entered,
                         "last_one_to_one_on": today - timedelta(days=days[-1]), "last_assessment": latest,
                         "one_to_one_count": n})
    _put(OneToOne, ones)
    _put(Commitment, commitments)
    _put(PersonPipeline, pipeline)
    _put(StageMove, moves)


def _actions(s: Shape, rng: random.Random, now: datetime, users: dict) -> None:
    """Past major actions, prep meetings tied to them, and the measured action with RSVPs and check-ins.

    Ids 1..majors are past major actions, ``majors + 1`` is the measured one (started 30
    minutes ago), the rest are prep meetings one to four weeks before their major action.
    """
    from organizer.actions.models import Action, Attendance, Rsvp

    recruiters = users["organizers"] + users["leaders"]
    measured = s.majors + 1
    actions, rsvps, attendance = [], [], []
    starts_of = {}
    for aid in range(1, measured + 1):
        starts = now - timedelta(days=730 * (s.majors - aid + 1) // s.majors, hours=rng.randint(0, 8)) \
            if aid < measured else now - timedelta(minutes=30)
        starts_of[aid] = starts
        actions.append({"id": aid, "title": f"Action {aid}", "type": rng.choice(MAJOR_TYPES), "prepares_for_id": None,
                        "starts_at": starts, "turnout_goal": 4000 if aid == measured else s.major_rsvps})
    for aid in range(measured + 1, measured + s.preps + 1):
        major = rng.randint(1, measured)
        starts = starts_of[major] - timedelta(days=rng.randint(7, 28), hours=rng.randint(0, 8))
        actions.append({"id": aid, "title": f"Prep meeting {aid}", "type": rng.choice(PREP_TYPES),
                        "prepares_for_id": major, "starts_at": starts, "turnout_goal": s.prep_rsvps // 2})
    for a in actions:
        a.update(ends_at=a["starts_at"] + timedelta(hours=2), timezone="America/Chicago", location="",
                 signup_token=MEASURED_TOKEN if a["id"] == measured else f"bench-{a['id']}",
                 created_at=now, updated_at=now)
        count = s.measured_rsvps if a["id"] == measured else s.major_rsvps if a["id"] < measured else s.prep_rsvps
        for person_id in rng.sample(range(1, s.people + 1), count):
            status = rng.choices(["yes", "maybe", "no"], weights=[75, 15, 10])[0]
            rsvps.append({"action_id": a["id"], "person_id": person_id, "status": status, "source": "organizer",
                          "recruited_by_id": rng.choice(recruiters), "created_at": now, "updated_at": now})
            if rng.random() < (0.65 if status == "yes" else 0.15):
                attendance.append({"action_id": a["id"], "person_id": person_id,
                                   "checked_in_at": a["starts_at"] + timedelta(minutes=rng.randint(0, 30)),
                                   "walk_in": status != "yes"})
    _put(Action, actions)
    _put(Rsvp, rsvps)
    _put(Attendance, attendance)


def _texts(s: Shape, rng: random.Random, now: datetime, users: dict) -> None:
    """Sent mobilizations (90% of the texts), replies in threads (the rest), and inbound texts."""
    from organizer.sms.models import Conversation, InboundMessage, Mobilization, OutboxMessage

    staff = users["organizers"]
    per_mobilization = s.texts * 9 // 10 // s.mobilizations
    mobilizations = []
    for mid in range(1, s.mobilizations + 1):
        launched = now - timedelta(days=(s.mobilizations - mid + 1) * 700 // s.mobilizations)
        mobilizations.append({"id": mid, "title": f"Turnout text {mid}", "kind": "broadcast", "status": "done",
                              "body": BODIES[mid % len(BODIES)].format("{first_name}"), "audience": {},
                              "rsvp_prompt": False, "created_by_id": rng.choice(staff), "created_at": launched,
                              "launched_at": launched, "finished_at": launched + timedelta(hours=1),
                              "recipients": per_mobilization, "excluded_opted_out": 0, "excluded_no_phone": 0,
                              "excluded_invalid": 0, "excluded_duplicate": 0})
    _put(Mobilization, mobilizations)

    threads = rng.sample(range(1, s.people + 1), s.threads)

    def outbox() -> Iterator[dict]:
        statuses, weights = ["delivered", "sent", "undelivered", "failed"], [90, 5, 3, 2]
        n = 0
        for m in mobilizations:
            for pid in rng.sample(range(1, s.people + 1), per_mobilization):
                n += 1
                at = m["launched_at"] + timedelta(seconds=n % 3600)
                yield {"mobilization_id": m["id"], "person_id": pid, "phone": phone_of(pid),
                       "body": BODIES[m["id"] % len(BODIES)].format(FIRST[pid % len(FIRST)]),
                       "kind": "mobilization", "status": rng.choices(statuses, weights)[0], "sid": f"SM{n:032x}",
                       "created_at": at, "sent_at": at, "sent_by_id": None}
        while n < s.texts:
            n += 1
            pid = threads[n % len(threads)]
            at = now - timedelta(seconds=rng.randint(0, 700 * 86400))
            yield {"mobilization_id": None, "person_id": pid, "phone": phone_of(pid),
                   "body": "Thanks! See you there.", "kind": rng.choice(["reply", "auto_reply", "reminder"]),
                   "status": "delivered", "sid": f"SM{n:032x}", "created_at": at, "sent_at": at,
                   "sent_by_id": rng.choice(staff)}

    def finished(rows: Iterator[dict]) -> Iterator[dict]:
        for row in rows:
            row.update(encoding="GSM-7", segments=1, attempts=1, not_before=row["created_at"],
                       updated_at=row["sent_at"])
            yield row

    _put(OutboxMessage, finished(outbox()))

    conversations, inbound = [], []
    for cid, pid in enumerate(threads, start=1):
        unknown = rng.random() < 0.03  # a number we could not match to anyone
        phone = f"+1773{5_000_000 + cid:07d}" if unknown else phone_of(pid)
        last = now - timedelta(minutes=rng.randint(1, 300 * 1440))
        replies = rng.randint(1, 3)
        for k in range(replies):
            keyword = rng.choices(["yes", "no", "other", "possible_opt_out"], weights=[50, 15, 34, 1])[0]
            inbound.append({"message_sid": f"SMin{cid:08d}{k}", "conversation_id": cid,
                            "person_id": None if unknown else pid, "from_phone": phone,
                            "to_phone": "+13125550199", "body": {"yes": "Yes", "no": "No"}.get(keyword, "Which room?"),
                            "keyword": keyword, "outcome": None, "needs_review": keyword == "possible_opt_out",
                            "received_at": last - timedelta(hours=replies - k)})
        conversations.append({"id": cid, "phone": phone, "person_id": None if unknown else pid,
                              "assigned_to_id": rng.choice(staff + users["leaders"][:20]) if rng.random() < 0.3
                              else None, "unread": rng.choice([0, 0, 0, 1, 2]), "last_message_at": last,
                              "last_inbound_at": last, "created_at": last - timedelta(days=3)})
    _put(Conversation, conversations)
    _put(InboundMessage, inbound)
