"""A compatibility façade: the names ``organizer.sms.services`` held before the SMS area was
split by what it does. New code imports the focused module that owns a name instead:

- ``errors``: the errors services raise (``MobilizationError``, ``InboxError``, ``ConflictError``);
- ``consent``: who may be texted (opt-outs, opt-ins, flagged numbers);
- ``outbox``: writing a text to the outbox and dispatching it after the commit;
- ``audiences``: who a mobilization reaches;
- ``compose``: merge fields, rendering, preview, drafts;
- ``mobilizations``: launch, lifecycle, progress, P2P;
- ``inbox``: threads, reading, replies, assignment, opt-out reviews;
- ``inbound``: what an incoming text does;
- ``conflicts``: numbers shared across lists;
- ``verified_numbers``: test texts and the numbers they may go to.

Setting a name here (``monkeypatch.setattr(services, "person_for_phone", ...)`` in a test)
sets it in the module that owns it too, so the owner's own calls see it (``inbound.receive``
calls ``person_for_phone`` of its own module), as they did when everything lived here; undoing
the patch restores both. Other modules that imported the name keep their own binding: a new
test patches the name where it is used.
"""

from __future__ import annotations

import sys
from types import ModuleType

from organizer.db import utcnow  # noqa: F401 - tests read the clock through here
from organizer.sms.audiences import (  # noqa: F401
    AudienceCount,
    AudienceFilter,
    Recipient,
    audience_condition,
    audience_of,
    resolve_audience,
)
from organizer.sms.compose import (  # noqa: F401
    ACTION_FIELDS,
    PERSON_FIELDS,
    RSVP_PROMPT,
    SAMPLE_FIRST_NAME,
    Preview,
    action_values,
    check_template,
    fill_draft,
    full_body,
    merge_fields,
    preview,
    render,
    save_mobilization,
)
from organizer.sms.conflicts import (  # noqa: F401
    CONFLICT_DECISIONS,
    SharedNumber,
    get_phone_conflict,
    open_conflict_count,
    phone_conflicts,
    resolve_phone_conflict,
)
from organizer.sms.consent import (  # noqa: F401
    blocked_reason,
    flag_phone,
    opt_in_phone,
    opt_out_phone,
    reason_label,
)
from organizer.sms.errors import (  # noqa: F401
    ConflictError,
    InboxError,
    MobilizationError,
)
from organizer.sms.inbound import (  # noqa: F401
    DEFAULT_HELP,
    OPT_OUT_CONFIRMATION,
    InboundResult,
    keep_unprocessed,
    person_for_phone,
    receive,
)
from organizer.sms.inbox import (  # noqa: F401
    ThreadItem,
    assign,
    assignable_users,
    conversation_for,
    conversations_visible_to,
    get_conversation,
    inbox,
    mark_read,
    match_person,
    pending_reviews,
    reply,
    review_opt_out,
    thread,
    unread_total,
)
from organizer.sms.mobilizations import (  # noqa: F401
    Progress,
    cancel,
    finish_p2p,
    get_mobilization,
    insert_outbox_rows,
    launch,
    may_send_p2p,
    maybe_finish,
    p2p_next,
    p2p_send,
    pause,
    progress,
    progress_summaries,
    resume,
    visible_mobilizations,
)
from organizer.sms.outbox import (  # noqa: F401
    ANSWER_KINDS,
    in_their_language,
    is_on_hold,
    language_of,
    note_dispatch,
    queue_text,
    recent_texts,
    resolve_unknown,
    sendable,
    take_noted_dispatches,
)
from organizer.sms.verified_numbers import (  # noqa: F401
    remove_verified_number,
    test_numbers,
    test_send,
    test_sends_left,
    verified_numbers,
    verify_number,
)


def _owners() -> dict[str, ModuleType]:
    """Each re-exported name and the focused module it comes from (the one that defines it
    or, for a constant, holds the very same object)."""
    focused = [sys.modules[f"organizer.sms.{name}"] for name in (
        "errors", "consent", "outbox", "audiences", "compose", "mobilizations", "inbox", "inbound", "conflicts",
        "verified_numbers")]
    owners = {}
    for name, value in vars(sys.modules[__name__]).items():
        holders = [m for m in focused if getattr(m, name, owners) is value]
        defining = [m for m in holders if getattr(value, "__module__", None) == m.__name__]
        if holders:
            owners[name] = (defining or holders)[0]
    return owners


class _Facade(ModuleType):
    """This module, forwarding assignments to the module that owns the name."""

    def __setattr__(self, name: str, value: object) -> None:
        owner = _OWNERS.get(name)
        if owner is not None:
            setattr(owner, name, value)
        super().__setattr__(name, value)


_OWNERS = _owners()
sys.modules[__name__].__class__ = _Facade
