"""Read an RSVP answer out of a free-text reply, in English or Spanish, conservatively.

:func:`read_intent` says YES, NO or MAYBE only when the reply clearly means it; a reply that
says two things ("yes but no ride", "sí pero no puedo"), asks ("is it yes?"), hedges ("not
sure", "no sé") or sets a condition ("yes if I get a ride") is UNSURE, and one with no answer
in it at all ("what time?") is NONE. The costs are lopsided: a wrong automatic RSVP puts a
false number on the turnout sheet and texts the person a confirmation they did not ask for,
while an unsure reply only costs an organizer one tap in the thread.

How it reads: lower case, accents and curly apostrophes flattened, then cut into clauses at
punctuation and at "but"/"pero". Idioms with a "no" that is not a refusal ("no problem",
"no worries", "no hay problema") are taken out first, and those that mean yes ("wouldn't
miss it", "no me lo pierdo") count as yes. A clause that opens with an answer word ("yes",
"sí", "no", "nope"...) or holds a known phrase ("I'll be there", "ahí estaré", "can't make
it", "no puedo") gives that answer; both a yes and a no anywhere is UNSURE. A question
clause that names an answer makes the whole reply UNSURE, while a question beside a clear
answer does not ("Yes I'll be there, can I bring my daughter?" is YES).

Spanish "si" without its accent also means "if": a clause opening with "si" counts as yes
only when nothing follows it or a known yes phrase does, so "si puedo" (yes I can / if I
can) stays NONE.

Keywords (STOP, START, HELP, a lone YES or NO) are classified before this, by
:mod:`organizer.sms.keywords`; this module is only asked about the other replies.
"""

from __future__ import annotations

import enum
import re
import unicodedata

__all__ = ["Intent", "changes_answer", "read_intent"]


class Intent(enum.StrEnum):
    """What a reply says about coming to the action."""

    YES = "yes"
    NO = "no"
    MAYBE = "maybe"
    UNSURE = "unsure"  # RSVP words, but not clearly one answer: for an organizer to decide
    NONE = "none"  # no answer in it at all


def _words(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")\b")


# "No" idioms that refuse nothing: removed before looking for a no.
_NEUTRAL_NO = _words(
    r"no problem[so]?", r"no prob", r"no worries", r"no worry", r"no doubt", r"no question",
    r"no hay (?:problema|bronca|pedo|falla)", r"sin problema", r"no te preocupes", r"no se preocupen?",
    r"can'?t wait", r"cannot wait", r"no puedo esperar", r"no veo la hora",
)
# Negated phrases that mean yes.
_YES_NEGATED = _words(
    r"(?:wouldn'?t|would not|won'?t|will not|can'?t|cannot) miss (?:it|this|that)",
    r"no me (?:lo|la) (?:pierdo|perderia|voy a perder)", r"no (?:faltare|faltaremos|falto)",
    r"no (?:puedo|podemos) faltar", r"no way i'?d miss",
)
# A clause opening with one of these gives that answer.
_YES_OPENERS = _words(r"yes+", r"yeah", r"yea", r"yep", r"yup", r"sure", r"absolutely", r"definitely",
                      r"of course", r"claro(?: que si)?", r"por supuesto", r"desde luego", r"simon", r"orale")
_NO_OPENERS = _words(r"no+", r"nope", r"nah", r"no thanks", r"no gracias")
# Phrases that give an answer wherever they stand.
_YES_PHRASES = _words(
    r"i'?ll be there", r"i will be there", r"we'?ll be there", r"we will be there", r"i'?ll come",
    r"i will come", r"we'?ll come", r"i'?m coming", r"i am coming", r"we'?re coming", r"we are coming",
    r"i can make it", r"i'?ll make it", r"i will make it", r"we can make it", r"i can come", r"we can come",
    r"count me in", r"count us in", r"i'?m in(?= *$)", r"see you there", r"see you (?:then|tonight|tomorrow)",
    r"i'?ll attend", r"i will attend", r"i'?ll go", r"i will go", r"i'?m going", r"sign me up",
    r"ahi (?:estare|estaremos|nos vemos)", r"alli (?:estare|estaremos)", r"alla (?:estare|estaremos|nos vemos)",
    r"(?:nos vemos|los veo|te veo) (?:ahi|alli|alla)", r"cuenta(?:n)? conmigo", r"cuenten conmigo",
    r"cuenta(?:n)? con nosotros", r"si (?:voy|vamos|asistire|asistiremos|ire|iremos|puedo ir|podemos ir)",
    r"(?:voy|vamos) a (?:ir|estar ahi|asistir)", r"asistire", r"asistiremos", r"confirmo", r"confirmado",
    r"apuntame", r"anotame", r"me apunto", r"ahi voy", r"alli voy",
)
_NO_PHRASES = _words(
    r"(?:can'?t|cannot|can not|won'?t|will not|couldn'?t|could not) (?:make it|come|go|attend|be there)",
    r"(?:won'?t|will not|wouldn'?t|would not) be able", r"(?:not|n'?t) (?:be )?able to (?:make it|come|go|attend)",
    r"unable to", r"not (?:going to|gonna) (?:make it|come|go|be there)", r"(?:i'?m|i am|we'?re|we are) not coming",
    r"not coming", r"count (?:me|us) out", r"i'?ll pass", r"have to pass", r"(?:won'?t|will not) be there",
    r"no (?:puedo|podre|podemos|podremos|voy|vamos|ire|iremos|asistire|asistiremos|estare|estaremos|alcanzo|llego)",
    r"no (?:me|nos) es posible", r"no (?:voy|vamos) a poder", r"no (?:voy|vamos) a (?:ir|estar|asistir)",
    r"me es imposible", r"imposible para mi",
)
# An explicit maybe, recorded as "maybe" when nothing else is said.
_MAYBE = _words(r"maybe", r"perhaps", r"possibly", r"might", r"tal vez", r"talvez", r"a lo mejor", r"quizas?",
                r"puede que", r"puede ser", r"posiblemente")
# Hedges and conditions: the reply is not an answer yet.
_HEDGES = _words(
    r"not sure", r"unsure", r"don'?t know", r"dunno", r"idk", r"i'?ll try", r"will try", r"trying", r"probably",
    r"prob", r"depends", r"if", r"unless", r"hopefully", r"i think", r"i hope", r"(?:don'?t|do not) think",
    r"no se", r"no lo se", r"no estoy segur[oa]", r"no sabemos", r"depende", r"ojala", r"creo",
    r"(?:voy|vamos) a (?:tratar|intentar)", r"intentare", r"tratare", r"probablemente", r"a menos que",
    r"wait", r"espera", r"not yet", r"todavia no", r"aun no",
)
# A clause opening with these turns what follows around: a contrast or a condition.
_CONTRAST = _words(r"but", r"pero", r"except", r"excepto", r"aunque", r"although", r"though", r"sino")
# Any of these inside a question makes the reply unsure ("is it yes?", "¿no hay ride?").
_ANSWER_WORDS = _words(r"yes", r"si", r"no", r"maybe", r"tal vez", r"going", r"coming", r"ir", r"voy")
# "I changed my mind": lets a reply replace an answer the person gave us before.
_CHANGE = _words(
    r"changed? my mind", r"change of plans?", r"after all", r"anymore", r"any more", r"no longer", r"actually",
    r"cambie de (?:opinion|idea|planes)", r"cambio de planes?", r"ya no", r"al final", r"siempre si",
    r"siempre no", r"ahora si", r"mejor si", r"mejor no", r"resulta que", r"ya (?:puedo|podemos|si)",
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_CLAUSE_SPLIT = re.compile(r"[.,;:!?\n\u00a1\u00bf()]+|\s+-\s+|\b(?=(?:but|pero|aunque|except|although)\b)")


def flatten(body: str) -> str:
    """Lower case without accents, with plain apostrophes and single spaces. Raises nothing."""
    decomposed = unicodedata.normalize("NFKD", body.translate(_APOSTROPHES))
    text = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(text.split())


def _clauses(text: str) -> list[tuple[str, bool]]:
    """The clauses of ``text``, each with whether it is a question (followed by "?", or
    opened by a Spanish "¿")."""
    parts: list[tuple[str, bool]] = []
    start, opened = 0, False
    for match in _CLAUSE_SPLIT.finditer(text):
        delimiter = match.group()
        parts.append((text[start:match.start()], opened or "?" in delimiter))
        opened = "\u00bf" in delimiter
        start = match.end()
    parts.append((text[start:], opened))
    return [(clause.strip(" '\"*~-"), question) for clause, question in parts if clause.strip(" '\"*~-")]


def read_intent(body: str) -> Intent:
    """What ``body`` says about coming: YES, NO or MAYBE when clear, UNSURE when it names an
    answer but not clearly one, NONE when it names none. Raises nothing."""
    text = flatten(body)
    yes = bool(_YES_NEGATED.search(text))
    text = _YES_NEGATED.sub(" ", text)
    text = _NEUTRAL_NO.sub(" ", text)
    no = maybe = unsure = False
    contrast = False
    for clause, question in _clauses(text):
        said_yes = bool(_YES_PHRASES.search(clause)) or _opens_with_yes(clause)
        said_no = bool(_NO_PHRASES.search(clause)) or bool(_NO_OPENERS.match(clause))
        said_maybe = bool(_MAYBE.search(clause))
        if question:
            # A question that names an answer asks rather than answers.
            if said_yes or said_no or said_maybe or _ANSWER_WORDS.search(clause):
                unsure = True
            continue
        contrast = contrast or bool(_CONTRAST.match(clause))
        unsure = unsure or bool(_HEDGES.search(clause))
        yes, no, maybe = yes or said_yes, no or said_no, maybe or said_maybe
    answers = yes + no + maybe
    if answers == 0:
        return Intent.UNSURE if unsure else Intent.NONE
    if answers > 1 or unsure or contrast:
        return Intent.UNSURE
    return Intent.YES if yes else Intent.NO if no else Intent.MAYBE


def _opens_with_yes(clause: str) -> bool:
    """Whether the clause opens with a yes word. A bare Spanish "si" counts only when nothing
    follows it (or only more yes words): "si" also means "if" ("si puedo voy")."""
    if _YES_OPENERS.match(clause):
        return True
    words = clause.split()
    return bool(words) and words[0] == "si" and all(w in {"si", "claro", "gracias", "senor", "senora"} for w in words)


def changes_answer(body: str) -> bool:
    """Whether the reply says the person changed their mind ("changed my mind", "ya no",
    "after all"), which lets it replace an answer they gave before. Raises nothing."""
    return bool(_CHANGE.search(flatten(body)))
