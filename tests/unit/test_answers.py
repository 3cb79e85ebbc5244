"""Routing answers and engine events as values: what they default to, and the JSON
document an answer is stored and sent as."""

from __future__ import annotations

import pytest

from router.domain import is_sid
from router.engine.answers import Match, RoutedNumber, RoutingAnswer, document, from_document
from router.engine.events import CallEvent, MessageEvent, UssdEvent
from router.routing import Outcome, Target

ROUTED = RoutingAnswer(
    "CA" + "a" * 32,
    Outcome.ROUTED,
    RoutedNumber("PN" + "b" * 32, "AC" + "c" * 32, "+15550100", "OR" + "d" * 32),
    Match("pattern", "15550100", "1555.*"),
    Target("url", None, "http://127.0.0.1:9/v", "POST", "http://127.0.0.1:9/f", "GET"),
    "<Response/>",
    "primary",
)


@pytest.mark.parametrize(
    "answer",
    [ROUTED, RoutingAnswer("SM" + "e" * 32, Outcome.NOT_FOUND)],
)
def test_an_answer_reads_back_from_its_document(answer: RoutingAnswer) -> None:
    assert from_document(document(answer, "call_sid"), "call_sid") == answer


def test_the_document_has_every_key_of_the_gateway_envelope() -> None:
    """SPEC 4: the same keys for every outcome, unset ones null."""
    unrouted = document(RoutingAnswer("SM" + "e" * 32, Outcome.NO_APPLICATION), "sms_sid")
    assert unrouted == {
        "sms_sid": "SM" + "e" * 32,
        "outcome": "no_application",
        "number": None,
        "match": None,
        "target": None,
        "rcml": None,
        "rcml_source": None,
    }
    routed = document(ROUTED, "call_sid")
    assert routed["match"] == {"how": "pattern", "spelling": "15550100", "pattern": "1555.*"}
    assert routed["target"]["fallback_method"] == "GET"
    assert routed["number"]["phone_number"] == "+15550100"


def test_a_stored_document_without_its_sid_key_is_refused() -> None:
    with pytest.raises(KeyError):
        from_document(document(ROUTED, "call_sid"), "sms_sid")


def test_events_without_a_sid_get_a_fresh_one() -> None:
    calls = {CallEvent("+1", "2").call_sid for _ in range(3)}
    assert len(calls) == 3
    assert all(is_sid(sid, "CA") for sid in calls)
    assert is_sid(UssdEvent("+1", "*777#").call_sid, "CA")
    assert is_sid(MessageEvent("+1", "2").sms_sid, "SM")
    assert CallEvent("+1", "2").fetch_rcml
