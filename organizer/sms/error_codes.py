"""What Organizer does with each error code Twilio reports for an outgoing text.

One table, read by the sending pipeline (errors raised when a text is created) and by the
status callback (``ErrorCode`` of a ``failed`` or ``undelivered`` text). Each code's
meaning is Twilio's error dictionary, https://www.twilio.com/docs/api/errors/<code>;
the comment on each row says which words of that page decide the action.

Actions:

* ``retry``: nothing reached the person; the same text is tried again later (backoff).
* ``fail``: this text fails; the number stays textable, the next mobilization tries it.
* ``flag``: the number itself cannot take texts: this text fails and the number is
  flagged, so later mobilizations leave it out and staff see why (they may clear it).
* ``opt_out``: the person unsubscribed at the carrier or at Twilio: opted out everywhere.

Independently, ``pause`` says when the mobilization should stop sending, because the
problem is ours (account, sender registration) and every later text would fail alike:
``now`` at the first such error, ``repeated`` when ``SMS_PAUSE_THRESHOLD`` texts hit it
within ten minutes (filtering and rate limits, where a few are normal).

A code not in the table fails its text and is counted apart on the results page.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

__all__ = ["Action", "CodeRule", "PAUSE_NOW_CODES", "PAUSE_REPEATED_CODES", "RULES", "rule_for"]


class Action(enum.StrEnum):
    RETRY = "retry"
    FAIL = "fail"
    FLAG = "flag"
    OPT_OUT = "opt_out"


@dataclass(frozen=True)
class CodeRule:
    code: int
    title: str  # Twilio's title, in English (as in Twilio's console)
    action: Action
    pause: str | None = None  # None, "now" or "repeated"
    known: bool = True


R, F, G, O = Action.RETRY, Action.FAIL, Action.FLAG, Action.OPT_OUT

RULES: dict[int, CodeRule] = {rule.code: rule for rule in (
    # 20003 "Permission Denied" (bad credentials): no text can go until an admin fixes them.
    CodeRule(20003, "Authentication failed", F, "now"),
    # 20429 "Too Many Requests": back off and send again.
    CodeRule(20429, "Too many requests", R, "repeated"),
    # 21211 "Invalid 'To' Phone Number": the number is not a valid phone number.
    CodeRule(21211, "Invalid 'To' phone number", G),
    # 21408 "Permission to send an SMS has not been enabled for the region indicated by the
    # 'To' number": the account's geographic permissions; the number is fine but will fail
    # every time until an admin enables the region, so it is flagged (staff clear it then).
    CodeRule(21408, "Permission to send to this region not enabled", G),
    # 21606 "The 'From' phone number provided is not a valid message-capable Twilio phone
    # number": our sender; every text fails.
    CodeRule(21606, "'From' number cannot send messages", F, "now"),
    # 21610 "Attempt to send to unsubscribed recipient": the person replied STOP.
    CodeRule(21610, "Recipient unsubscribed (STOP)", O),
    # 21611 "This 'From' number has exceeded the maximum number of queued messages": the
    # message was refused before creation; slow down and send again.
    CodeRule(21611, "Sender queue full", R, "repeated"),
    # 21612 "The 'To' phone number is not currently reachable via SMS": no route to it.
    CodeRule(21612, "'To' number not reachable by SMS", G),
    # 21614 "'To' number is not a valid mobile number": a landline or similar.
    CodeRule(21614, "'To' number is not a mobile number", G),
    # 21617 "The concatenated message body exceeds the 1600 character limit".
    CodeRule(21617, "Body too long", F),
    # 30001 "Queue overflow": "Messages can only be queued for 4 hours and then they
    # automatically fail" — never sent, so sending it again (later, slower) is safe.
    CodeRule(30001, "Queue overflow", R, "repeated"),
    # 30002 "Account suspended".
    CodeRule(30002, "Account suspended", F, "now"),
    # 30003 "Unreachable destination handset": phone off or out of coverage; "a transient
    # delivery failure" — this text fails, the next mobilization tries again.
    CodeRule(30003, "Unreachable destination handset", F),
    # 30004 "Message blocked": the recipient blocked this sender or the carrier blocks the
    # number; sending again only fails again.
    CodeRule(30004, "Message blocked", G),
    # 30005 "Unknown destination handset": the number does not exist or is out of service.
    CodeRule(30005, "Unknown destination handset", G),
    # 30006 "Landline or unreachable carrier": "If Lookup returns landline, do not retry the
    # same SMS to that destination."
    CodeRule(30006, "Landline or unreachable carrier", G),
    # 30007 "Message filtered" (carrier violation): this text fails; many in a row mean the
    # content or the sender is being filtered.
    CodeRule(30007, "Message filtered by the carrier", F, "repeated"),
    # 30008 "Unknown error": no more detail from the carrier; the text fails.
    CodeRule(30008, "Unknown error", F),
    # 30009 "Missing segment": part of a multipart text was lost; resending would repeat the
    # parts that arrived.
    CodeRule(30009, "Missing segment", F),
    # 30010 "Message price exceeds max price": our MaxPrice setting; every text fails alike.
    CodeRule(30010, "Message price exceeds max price", F, "now"),
    # 30022 "US A2P 10DLC - Rate Limits Exceeded": "rejected by the downstream carriers for
    # exceeding the rate limits allowed by your campaign" — slow down and send again.
    CodeRule(30022, "10DLC rate limit exceeded", R, "repeated"),
    # 30023 "US A2P 10DLC - Daily Message Cap Reached": nothing more goes today.
    CodeRule(30023, "10DLC daily message cap reached", R, "now"),
    # 30027 "US A2P 10DLC - T-Mobile Daily Message Limit Reached".
    CodeRule(30027, "T-Mobile daily message limit reached", R, "now"),
    # 30032 "Toll-Free Number Has Not Been Verified": since 31 January 2024 texts from an
    # unverified toll-free number to the US and Canada are blocked — every one fails.
    CodeRule(30032, "Toll-free number not verified", F, "now"),
    # 30034 "US A2P 10DLC - Message from an Unregistered Number": every one fails.
    CodeRule(30034, "Sender not registered for A2P 10DLC", F, "now"),
    # 63017 "Rate limit exceeded" (account over 2,000 messages a second): slow down.
    CodeRule(63017, "Account rate limit exceeded", R, "repeated"),
    # 63018 "Rate limit exceeded for Channel": "sending messages at a higher combined rate
    # than configured for your account".
    CodeRule(63018, "Channel rate limit exceeded", R, "repeated"),
    # 63038 "Account exceeded the daily messages limit": "Wait until the next day for the
    # 24 hour window to reset".
    CodeRule(63038, "Account daily message limit reached", R, "now"),
)}  # fmt: skip

#: Codes that pause a mobilization at the first hit.
PAUSE_NOW_CODES = frozenset(c for c, r in RULES.items() if r.pause == "now")
#: Codes that pause a mobilization when SMS_PAUSE_THRESHOLD texts hit them in ten minutes.
PAUSE_REPEATED_CODES = frozenset(c for c, r in RULES.items() if r.pause == "repeated")

ACTION_LABELS = {
    Action.RETRY: _l("tried again later"),
    Action.FAIL: _l("this text failed"),
    Action.FLAG: _l("number flagged"),
    Action.OPT_OUT: _l("number opted out"),
}


def rule_for(code: int | None) -> CodeRule | None:
    """The rule for a Twilio error code; an unknown code fails its text (``known`` False).
    ``None`` for no code (a network failure: the caller's own retry rules apply)."""
    if code is None:
        return None
    return RULES.get(code) or CodeRule(code, "Unrecognized error code", Action.FAIL, known=False)


def action_label(code: int | None) -> str:
    """What Organizer did about ``code``, in the reader's language."""
    rule = rule_for(code)
    if rule is None:
        return ""
    if not rule.known:
        return str(_l("unrecognized code: this text failed"))
    label = str(ACTION_LABELS[rule.action])
    if rule.pause == "now":
        label += " · " + str(_l("mobilization paused"))
    return label
