"""What counts as a clear yes, no or maybe in a reply, in English and Spanish (issue 14):
real phrasings, accents or not, words around them, and the tricky ones (negated idioms,
mixed answers, questions, conditions) that must stay unsure."""

from __future__ import annotations

import pytest

from organizer.sms.rsvp_intent import Intent, changes_answer, read_intent

YES, NO, MAYBE, UNSURE, NONE = Intent.YES, Intent.NO, Intent.MAYBE, Intent.UNSURE, Intent.NONE

PHRASINGS = [
    # clear yes, English
    ("Yes I'll be there, can I bring my daughter?", YES),
    ("yes!! see you there", YES),
    ("Yeah I'll come", YES),
    ("Count me in", YES),
    ("I'm in!", YES),
    ("Sure thing", YES),
    ("Absolutely, wouldn't miss it", YES),
    ("no problem, I'll be there", YES),
    ("No worries, we'll be there", YES),
    ("I will be there with my neighbor", YES),
    ("I can make it", YES),
    ("Of course! What should I bring?", YES),
    # clear yes, Spanish (with and without accents)
    ("Sí, ahí estaré", YES),
    ("si ahi estare", YES),
    ("SÍ", YES),
    ("Claro que sí", YES),
    ("Cuenten conmigo 🙌", YES),
    ("Ahí nos vemos", YES),
    ("Sí voy, ¿puedo llevar a mi hija?", YES),
    ("No me lo pierdo", YES),
    ("Vamos a ir toda la familia", YES),
    ("No hay problema, ahí estaré", YES),
    # clear no
    ("no puedo", NO),
    ("No, lo siento", NO),
    ("can't make it", NO),
    ("Sorry I can't make it this time", NO),
    ("I won't be able to", NO),
    ("I won’t be able to make it", NO),
    ("Nope", NO),
    ("not coming, sorry", NO),
    ("No podré ir, tengo trabajo", NO),
    ("no voy a poder", NO),
    ("Lo siento, no vamos", NO),
    ("Ya no puedo ir", NO),
    # maybe
    ("maybe", MAYBE),
    ("Maybe!", MAYBE),
    ("tal vez", MAYBE),
    ("a lo mejor", MAYBE),
    ("quizás", MAYBE),
    # mixed, negated, conditional, questions: unsure, never recorded
    ("yes but no ride", UNSURE),
    ("is it yes?", UNSURE),
    ("not sure", UNSURE),
    ("sí pero no puedo", UNSURE),
    ("yes, no wait", UNSURE),
    ("Yes if I get a ride", UNSURE),
    ("I'll try to be there", UNSURE),
    ("No sé si voy", UNSURE),
    ("No estoy segura", UNSURE),
    ("¿sí?", UNSURE),
    ("I don't think I'll be there", UNSURE),
    ("maybe, no, I can't", UNSURE),
    ("yes maybe", UNSURE),
    ("Probably yes", UNSURE),
    ("Creo que sí", UNSURE),
    ("Sí, pero llego tarde", UNSURE),
    # no answer in it at all
    ("what time is it?", NONE),
    ("Thanks!", NONE),
    ("Ok", NONE),
    ("I can't wait!", NONE),
    ("si puedo", NONE),  # "yes I can" or "if I can": not read either way
    ("I'm in the car, call me later", NONE),
    ("Who is this?", NONE),
]


@pytest.mark.parametrize(("body", "intent"), PHRASINGS, ids=[p[0] for p in PHRASINGS])
def test_replies_are_read_conservatively(body, intent):
    assert read_intent(body) is intent




@pytest.mark.parametrize(("body", "changed"), [
    ("Changed my mind, I'll be there", True),
    ("Ya no puedo ir", True),
    ("Al final sí voy", True),
    ("I can come after all", True),
    ("no puedo", False),
    ("I'll be there", False),
])
def test_a_change_of_mind_is_recognised(body, changed):
    assert changes_answer(body) is changed
