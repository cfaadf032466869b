"""Demo data: a finished turnout text with its deliveries and replies, earlier months' texts (so
the texting charts have months to show), a draft for the upcoming hearing, a leader texting
their list one at a time, and an inbox with something to answer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from organizer.actions.models import Action
from organizer.db import utcnow
from organizer.demo import DemoContext, step
from organizer.extensions import db
from organizer.people.models import ConsentMethod, SmsConsent
from organizer.people.services import set_sms_consent
from organizer.sms import encoding
from organizer.sms.keywords import classify
from organizer.sms.models import (
    Conversation,
    InboundMessage,
    MessageKind,
    Mobilization,
    MobilizationKind,
    MobilizationStatus,
    OutboxMessage,
    OutboxStatus,
    PhoneOptOut,
)

REPLIES = ["YES", "Yes! I'll bring my mom", "What time does it start?", "Can I get a ride?", "Sí, ahí estaré",
           "STOP", "please remove me from this list", "Is there childcare?", "👍", "Running late but coming"]


@step
def texts(ctx: DemoContext) -> None:
    """A sent mobilization with deliveries and replies, a draft for the hearing, and a leader's P2P text."""
    rng = ctx.rng
    now = utcnow()
    actions = list(db.session.scalars(select(Action).order_by(Action.starts_at)))
    past = next((a for a in reversed(actions) if a.starts_at < now), None)
    upcoming = next((a for a in actions if a.starts_at > now), None)
    organizer = ctx.organizers[0]
    textable = [p for p in ctx.people if p.phone and p.sms_consent is not SmsConsent.OPTED_OUT]

    sent_at = (past.starts_at if past else now) - timedelta(days=3)
    done = Mobilization(
        title="Turnout: " + (past.title if past else "housing session"), kind=MobilizationKind.BROADCAST,
        status=MobilizationStatus.DONE, body="Hi {first_name}! Join us at the housing accountability session. "
        "Reply YES to RSVP.", audience={}, rsvp_prompt=past is not None, action_id=past.id if past else None,
        created_by_id=organizer.id, created_at=sent_at, launched_at=sent_at, finished_at=sent_at + timedelta(minutes=9),
        recipients=0, excluded_opted_out=sum(p.sms_consent is SmsConsent.OPTED_OUT for p in ctx.people),
        excluded_no_phone=sum(not p.phone for p in ctx.people),
    )
    db.session.add(done)
    db.session.flush()
    recipients = rng.sample(textable, k=min(140, len(textable)))
    done.recipients = len(recipients)
    for i, person in enumerate(recipients):
        body = done.body.replace("{first_name}", person.preferred_name or person.first_name)
        info = encoding.analyze(body)
        status = rng.choices([OutboxStatus.DELIVERED, OutboxStatus.UNDELIVERED, OutboxStatus.FAILED],
                             weights=[92, 5, 3])[0]
        at = sent_at + timedelta(seconds=4 * i)
        db.session.add(OutboxMessage(
            mobilization_id=done.id, person_id=person.id, phone=person.phone, body=body, encoding=info.encoding,
            segments=info.segments, kind=MessageKind.MOBILIZATION, status=status, provider_status=status.value,
            sid=f"SMdemo{done.id:04d}{i:06d}", attempts=1, not_before=at, claimed_at=at, sent_at=at,
            delivered_at=at + timedelta(seconds=5) if status is OutboxStatus.DELIVERED else None,
            error_code=None if status is OutboxStatus.DELIVERED else (30003 if status is OutboxStatus.UNDELIVERED
                                                                       else 30005),
            created_at=at, updated_at=at,
        ))
    for n, person in enumerate(recipients[:len(REPLIES) * 2]):
        text = REPLIES[n % len(REPLIES)]
        at = sent_at + timedelta(minutes=15 + 7 * n)
        conversation = Conversation(phone=person.phone, person_id=person.id, unread=1 if n % 3 else 0,
                                    last_message_at=at, last_inbound_at=at, created_at=at,
                                    assigned_to_id=organizer.id if n % 4 == 0 else None)
        db.session.add(conversation)
        db.session.flush()
        keyword = classify(text)
        message = InboundMessage(message_sid=f"SMdemoin{n:06d}", conversation_id=conversation.id,
                                 person_id=person.id, from_phone=person.phone, to_phone="+13125550100", body=text,
                                 keyword=keyword.value, received_at=at)
        if keyword.value == "opt_out":
            set_sms_consent(person, SmsConsent.OPTED_OUT, method=ConsentMethod.SMS_STOP, detail="SMS STOP reply",
                            now=at)
            db.session.add(PhoneOptOut(phone=person.phone, source="SMS STOP reply", opted_out_at=at))
            message.outcome = "opted_out"
        elif keyword.value == "possible_opt_out":
            message.needs_review = True
            message.outcome = "flagged"
        db.session.add(message)
    db.session.add(Conversation(phone="+17735550177", unread=1, last_message_at=now - timedelta(hours=2),
                                created_at=now - timedelta(hours=2)))
    db.session.flush()
    unknown = db.session.scalar(select(Conversation).where(Conversation.phone == "+17735550177"))
    db.session.add(InboundMessage(message_sid="SMdemounknown", conversation_id=unknown.id, from_phone=unknown.phone,
                                  to_phone="+13125550100", body="Hi, my neighbor gave me this number. How do I join?",
                                  keyword="other", received_at=now - timedelta(hours=2)))

    if upcoming is not None:
        db.session.add(Mobilization(
            title="Turnout: " + upcoming.title[:150], kind=MobilizationKind.BROADCAST,
            status=MobilizationStatus.DRAFT, action_id=upcoming.id, rsvp_prompt=True, audience={},
            body="{first_name}, the Route 9 hearing is {action_time} at {action_place}. Riders need to be seen!",
            created_by_id=organizer.id, created_at=now,
        ))
    for days_ago, title in EARLIER:
        _earlier_broadcast(ctx, title, now - timedelta(days=days_ago), organizer)
    leader = ctx.leaders[0]
    started = now - timedelta(hours=2)
    p2p = Mobilization(
        title="My people: the hearing", kind=MobilizationKind.P2P, status=MobilizationStatus.SENDING,
        body="Hi {first_name}, it's " + leader.name.split(" ")[0] + ". Are you coming to the bus hearing with me?",
        audience={"owner_id": leader.id}, created_by_id=leader.id, created_at=started, launched_at=started,
        recipients=sum(1 for p in ctx.people if p.owner is leader and p.phone),
    )
    db.session.add(p2p)
    db.session.flush()
    # The leader has texted a few of their people already; the rest wait for them.
    texted = _distinct_phones([p for p in textable if p.owner is leader])[:4]
    for i, person in enumerate(texted):
        at = started + timedelta(minutes=6 * i)
        _text_row(p2p, person, at, OutboxStatus.DELIVERED if i != 2 else OutboxStatus.UNDELIVERED, i,
                  sent_by_id=leader.id)
    if texted:
        _reply_row(texted[0], started + timedelta(minutes=20), "Yes! I'll be there", assigned_to_id=leader.id)


#: Earlier texts, so the monthly chart has months to show: (days ago, title).
EARLIER = [(24, "Monthly assembly reminder"), (52, "Listening session this Saturday"),
           (87, "Rent strike update"), (118, "Bus line hearing: save the date"),
           (140, "Back-to-school supply drive"), (175, "Summer cookout"), (212, "Youth jobs town hall"),
           (250, "Spring leaders' retreat"), (300, "Winter coat drive")]
EARLIER_REPLIES = ["YES", "Count me in", "What time?", "Sí, voy", "Can I bring my kids?", "👍", "Yes"]


def _distinct_phones(people: list) -> list:
    """One person per phone: a mobilization texts a number once."""
    seen: set[str] = set()
    kept = []
    for person in people:
        if person.phone not in seen:
            seen.add(person.phone)
            kept.append(person)
    return kept


def _text_row(mobilization: Mobilization, person, at, status: OutboxStatus, n: int, sent_by_id=None) -> None:
    body = mobilization.body.replace("{first_name}", person.preferred_name or person.first_name)
    info = encoding.analyze(body)
    changed = at + timedelta(seconds=5)
    db.session.add(OutboxMessage(
        mobilization_id=mobilization.id, person_id=person.id, phone=person.phone, body=body,
        encoding=info.encoding, segments=info.segments, kind=MessageKind.MOBILIZATION, status=status,
        provider_status=status.value, sid=f"SMdemo{mobilization.id:04d}{n:06d}", attempts=1, not_before=at,
        claimed_at=at, sent_at=at, delivered_at=changed if status is OutboxStatus.DELIVERED else None,
        error_code=None if status is OutboxStatus.DELIVERED else (30003 if status is OutboxStatus.UNDELIVERED
                                                                   else 30005),
        created_at=at, updated_at=changed, sent_by_id=sent_by_id,
    ))


def _reply_row(person, at, text: str, assigned_to_id=None) -> None:
    """A reply from ``person`` in their thread (opened if they have none)."""
    conversation = db.session.scalar(select(Conversation).where(Conversation.phone == person.phone,
                                                                Conversation.person_id == person.id))
    if conversation is None:
        conversation = Conversation(phone=person.phone, person_id=person.id, created_at=at,
                                    assigned_to_id=assigned_to_id, last_message_at=at)
        db.session.add(conversation)
        db.session.flush()
    conversation.last_message_at = max(conversation.last_message_at, at)
    conversation.last_inbound_at = max(conversation.last_inbound_at or at, at)
    db.session.add(InboundMessage(message_sid=f"SMdemoin{person.id:06d}{int(at.timestamp())}",
                                  conversation_id=conversation.id, person_id=person.id, from_phone=person.phone,
                                  to_phone="+13125550100", body=text, keyword=classify(text).value, received_at=at))


def _earlier_broadcast(ctx: DemoContext, title: str, sent_at, organizer) -> None:
    """A finished broadcast from an earlier month: deliveries, a few failures, replies that
    trickle in over the evening."""
    rng = ctx.rng
    textable = [p for p in ctx.people if p.phone and p.sms_consent is not SmsConsent.OPTED_OUT]
    recipients = _distinct_phones(rng.sample(textable, k=min(rng.randint(40, 90), len(textable))))
    m = Mobilization(
        title=title, kind=MobilizationKind.BROADCAST, status=MobilizationStatus.DONE, audience={},
        body="Hi {first_name}! " + title + ". Reply YES if you're in.", created_by_id=organizer.id,
        created_at=sent_at, launched_at=sent_at, finished_at=sent_at + timedelta(seconds=6 * len(recipients)),
        recipients=len(recipients),
    )
    db.session.add(m)
    db.session.flush()
    for i, person in enumerate(recipients):
        status = rng.choices([OutboxStatus.DELIVERED, OutboxStatus.UNDELIVERED, OutboxStatus.FAILED],
                             weights=[rng.randint(85, 96), 5, 3])[0]
        _text_row(m, person, sent_at + timedelta(seconds=6 * i), status, i)
    for n, person in enumerate(rng.sample(recipients, k=min(len(recipients), rng.randint(5, 12)))):
        _reply_row(person, sent_at + timedelta(minutes=rng.randint(3, 60 * (1 + n % 4))),
                   EARLIER_REPLIES[n % len(EARLIER_REPLIES)])
