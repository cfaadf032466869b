"""Classify an inbound text: opt-out, opt-in, YES/NO, HELP, or free text.

Keywords match only when they are the *whole* message, after trimming
whitespace and surrounding punctuation, ignoring case and accents
("Stop!", " quit. ", "Sí" all match). A longer message that clearly asks to be
left alone ("please remove me from this list") is :attr:`Keyword.POSSIBLE_OPT_OUT`:
it is flagged for an organizer to confirm and never acted on automatically,
because "stop by the meeting" and "can't stop thinking about the hearing"
must not unsubscribe anyone.

Spanish. Twilio's built-in handling is English only, so a Spanish "ALTO" is
not blocked by Twilio; this module still treats these whole-message words as
opt-outs: ALTO, PARAR, PARE, DETENER, CANCELAR, BAJA. Sent alone in reply to an
organizing text they can only mean "stop" (a lone "alto" meaning "tall" is not a
plausible reply), and the costs are lopsided: wrongly honouring an opt-out loses
one contact, wrongly ignoring one texts someone who asked us to stop (and the
FCC's 2024 consent rule requires honouring revocation "by any reasonable
means"). The app must therefore record and confirm these itself. "SI"/"SÍ"
mean YES and "AYUDA" means HELP.

YES. Twilio treats YES as an opt-in keyword on long codes and auto-replies
to it ("You have successfully been re-subscribed..."), so "Reply YES to RSVP"
prompts will trigger that reply unless Advanced Opt-Out is customised.
:func:`classify` returns YES distinctly; the caller decides whether it is an
RSVP answer or an opt-in.
"""

from __future__ import annotations

import enum
import re
import unicodedata

__all__ = [
    "HELP_KEYWORDS",
    "NO_KEYWORDS",
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "TWILIO_HANDLED_KEYWORDS",
    "YES_KEYWORDS",
    "Keyword",
    "classify",
    "from_opt_out_type",
    "normalize",
    "twilio_auto_replies",
]


class Keyword(enum.StrEnum):
    """What an inbound message means for consent and RSVPs."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    YES = "yes"
    NO = "no"
    HELP = "help"
    POSSIBLE_OPT_OUT = "possible_opt_out"
    OTHER = "other"


#: Whole-message opt-out words (normalized: upper case, no accents).
OPT_OUT_KEYWORDS = frozenset(
    {
        # Twilio's defaults (REVOKE and OPTOUT added for the FCC's 2025 rule).
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
        # Spellings people actually send.
        "STOP ALL", "OPT OUT", "OPT-OUT",
        # Spanish; see the module docstring for why these are safe.
        "ALTO", "PARAR", "PARE", "DETENER", "CANCELAR", "BAJA",
    }
)  # fmt: skip
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
YES_KEYWORDS = frozenset({"YES", "Y", "SI"})
NO_KEYWORDS = frozenset({"NO", "N"})
HELP_KEYWORDS = frozenset({"HELP", "INFO", "AYUDA"})

#: Bodies Twilio answers by itself on long codes and toll-free numbers when
#: Advanced Opt-Out is not configured. Reply to these and the person gets two
#: texts (and after an opt-out, our reply fails with 21610 anyway).
TWILIO_HANDLED_KEYWORDS = frozenset(
    {
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
        "START", "YES", "UNSTOP",
        "HELP", "INFO",
    }
)  # fmt: skip

# Curly quotes written as escapes: they look like ASCII ones in most fonts.
_EDGE_PUNCTUATION = "!.?,;:¡¿'\"\u201c\u201d\u2018\u2019()*-~ \t\r\n"
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})

# Phrases that ask to be left alone. Matched on lower-cased, accent-free text
# at word boundaries. Deliberately NOT here: a bare "stop" or "cancel" inside a
# sentence ("stop by", "cancel my RSVP").
_POSSIBLE_OPT_OUT_PATTERNS = [
    r"\bremove me\b",
    r"\btake me off\b",
    r"\bunsubscribe\b",
    r"\bopt(?:-| )?(?:me )?out\b",
    r"\bstop (?:texting|txting|texing|messaging|sending|contacting|calling)\b",
    r"\b(?:do not|don'?t|dont|never) (?:text|txt|message|contact|sms)\b",
    r"\bno more (?:texts|text|messages|msgs)\b",
    r"\bwrong (?:number|person|#)\b",
    r"\bleave me alone\b",
    r"^(?:please|pls|plz) stop\b",
    r"^stop (?:please|pls|plz|it|now)$",
    r"^stop(?: stop)+$",
    # Spanish
    r"\bdejen? de (?:enviar|mandar|escribir|textear)",
    r"\bno me (?:manden|mandes|envien|envies|escriban|escribas|textees)\b",
    r"\bnumero equivocado\b",
    r"\b(?:quitenme|quitame|sacame|saquenme|borrenme|borrame)\b",
    r"\bdarme de baja\b",
]
_POSSIBLE_OPT_OUT_RE = re.compile("|".join(_POSSIBLE_OPT_OUT_PATTERNS))

_EXACT: list[tuple[frozenset[str], Keyword]] = [
    (OPT_OUT_KEYWORDS, Keyword.OPT_OUT),
    (OPT_IN_KEYWORDS, Keyword.OPT_IN),
    (YES_KEYWORDS, Keyword.YES),
    (NO_KEYWORDS, Keyword.NO),
    (HELP_KEYWORDS, Keyword.HELP),
]


def normalize(body: str) -> str:
    """Return ``body`` upper-cased, accent-free, trimmed of edge punctuation,
    with runs of whitespace collapsed to one space.

    ``normalize(" Sí!! ")`` is ``"SI"``. Raises nothing.
    """
    # Apostrophes first: NFKD would turn an acute-accent apostrophe into a space.
    text = _strip_accents(body.translate(_APOSTROPHES))
    text = " ".join(text.split())
    return text.strip(_EDGE_PUNCTUATION).upper()


def classify(body: str) -> Keyword:
    """Classify an inbound message body.

    Exact keywords win; then opt-out phrases inside longer text give
    POSSIBLE_OPT_OUT; anything else is OTHER. Raises nothing.
    """
    word = normalize(body)
    for words, keyword in _EXACT:
        if word in words:
            return keyword
    if _POSSIBLE_OPT_OUT_RE.search(word.lower()):
        return Keyword.POSSIBLE_OPT_OUT
    return Keyword.OTHER


#: Twilio's Advanced Opt-Out (a Messaging Service setting where the federation adds its own
#: words, such as "BASTA") tells the inbound webhook which list a text matched in the
#: ``OptOutType`` parameter: STOP, START or HELP; Twilio has then answered it with the
#: federation's configured reply. https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out
OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}


def from_opt_out_type(opt_out_type: str | None) -> Keyword | None:
    """The keyword Twilio's Advanced Opt-Out matched (its ``OptOutType``), or ``None`` when
    the webhook carried none (or a value Twilio does not document). Raises nothing."""
    found = OPT_OUT_TYPES.get((opt_out_type or "").strip().upper())
    return Keyword(found) if found else None


def twilio_auto_replies(body: str) -> bool:
    """True when Twilio itself has already answered this inbound body.

    Twilio matches the single word ignoring case and surrounding whitespace;
    it is not documented to ignore punctuation, so "STOP!" is assumed NOT to
    be auto-answered (the app then sends its own confirmation). This assumes
    a standard long code or toll-free number without Advanced Opt-Out.
    Raises nothing.
    """
    return body.strip().upper() in TWILIO_HANDLED_KEYWORDS


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
