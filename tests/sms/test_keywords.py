"""Classifying inbound texts."""

from __future__ import annotations

import pytest

from organizer.sms.keywords import (
    OPT_OUT_KEYWORDS,
    TWILIO_HANDLED_KEYWORDS,
    Keyword,
    classify,
    normalize,
    twilio_auto_replies,
)

TWILIO_OPT_OUTS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]


@pytest.mark.parametrize("word", TWILIO_OPT_OUTS)
@pytest.mark.parametrize("dress", ["{}", "{}!", "{}.", "  {}  ", "\n{}\n", "{}!!!", "{} .", '"{}"'])
@pytest.mark.parametrize("case", [str.upper, str.lower, str.title])
def test_every_opt_out_keyword_in_any_case_and_punctuation(word: str, dress: str, case: object) -> None:
    body = dress.format(case(word))  # type: ignore[operator]
    assert classify(body) is Keyword.OPT_OUT


@pytest.mark.parametrize("body", ["Stop all", "opt out", "Opt-Out", "sToP   aLL"])
def test_opt_out_spellings(body: str) -> None:
    assert classify(body) is Keyword.OPT_OUT


@pytest.mark.parametrize("body", ["ALTO", "alto.", "Parar", "PARE", "detener", "Cancelar", "baja"])
def test_spanish_opt_out_words(body: str) -> None:
    assert classify(body) is Keyword.OPT_OUT


@pytest.mark.parametrize("body", ["START", "start", "Start!", "UNSTOP", "unstop."])
def test_opt_in(body: str) -> None:
    assert classify(body) is Keyword.OPT_IN


@pytest.mark.parametrize("body", ["YES", "yes", "Yes.", "yes!", "Y", "y", " YES ", "si", "Sí", "SÍ!", "sí."])
def test_yes_variants(body: str) -> None:
    assert classify(body) is Keyword.YES


@pytest.mark.parametrize("body", ["NO", "no", "No.", "n", "N!"])
def test_no_variants(body: str) -> None:
    assert classify(body) is Keyword.NO


@pytest.mark.parametrize("body", ["HELP", "help", "Help?", "INFO", "info", "Ayuda"])
def test_help(body: str) -> None:
    assert classify(body) is Keyword.HELP


@pytest.mark.parametrize(
    "body",
    [
        "Please remove me from this list",
        "stop texting me",
        "STOP TEXTING ME!!",
        "Can you take me off your list?",
        "unsubscribe me please",
        "how do I unsubscribe",
        "don't text me again",
        "Don\u2019t text me again",  # curly apostrophe
        "don\u00b4t text me",  # acute accent used as an apostrophe
        "dont text me",
        "Do not text me",
        "do not contact me",
        "Wrong number",
        "sorry, wrong number",
        "please stop",
        "Stop please",
        "STOP STOP",
        "no more texts",
        "leave me alone",
        "opt me out",
        "Dejen de enviarme mensajes",
        "dejen de mandarme esto",
        "No me manden más mensajes",
        "Número equivocado",
        "quítenme de la lista",
    ],
)
def test_possible_opt_out_phrases_are_flagged(body: str) -> None:
    assert classify(body) is Keyword.POSSIBLE_OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "I'll stop by the meeting",
        "stop by the meeting",
        "Can't stop thinking about the hearing",
        "Please cancel my RSVP, something came up",
        "See you at the end of the rally",
        "Yes I can come",
        "yes and I'm bringing my neighbor",
        "Who is this?",
        "Sounds good",
        "The bus stop is on 5th",
        "",
        "   ",
    ],
)
def test_ordinary_messages_are_other(body: str) -> None:
    assert classify(body) is Keyword.OTHER


def test_normalize() -> None:
    assert normalize("  Sí!! ") == "SI"
    assert normalize("stop   all") == "STOP ALL"
    assert normalize("¡Alto!") == "ALTO"


def test_keyword_values_are_strings_for_storage() -> None:
    assert Keyword.OPT_OUT.value == "opt_out"
    assert isinstance(Keyword.OPT_OUT, str)
    assert Keyword("possible_opt_out") is Keyword.POSSIBLE_OPT_OUT


def test_twilio_handled_keywords_cover_its_defaults() -> None:
    assert set(TWILIO_OPT_OUTS) <= TWILIO_HANDLED_KEYWORDS
    assert {"START", "UNSTOP", "YES", "HELP", "INFO"} <= TWILIO_HANDLED_KEYWORDS
    # Our Spanish words are not Twilio's: the app must answer those itself.
    assert "ALTO" in OPT_OUT_KEYWORDS and "ALTO" not in TWILIO_HANDLED_KEYWORDS


@pytest.mark.parametrize(
    ("body", "handled"),
    [("STOP", True), (" stop ", True), ("Yes", True), ("help", True), ("STOP!", False), ("alto", False),
     ("stop texting me", False), ("Y", False)],
)  # fmt: skip
def test_twilio_auto_replies(body: str, handled: bool) -> None:
    assert twilio_auto_replies(body) is handled
