"""X-Twilio-Signature: Twilio's documented vector and an independent re-implementation."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from router.webhooks.signing import signature, signature_headers

TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
TWILIO_TOKEN = "12345"
TWILIO_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def reference_signature(url: str, pairs: list[tuple[str, str]], key: str) -> str:
    """Written from Twilio's description, sharing no code with the module under test."""
    ordered = sorted(pairs, key=lambda pair: (pair[0], pair[1]))
    message = url
    for name, value in ordered:
        message += name
        message += value
    mac = hmac.new(key.encode(), message.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def test_twilio_documented_example_gives_documented_signature() -> None:
    assert signature(TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN) == TWILIO_SIGNATURE


def test_parameter_order_does_not_matter() -> None:
    shuffled = list(reversed(list(TWILIO_PARAMS.items())))
    assert signature(TWILIO_URL, shuffled, TWILIO_TOKEN) == TWILIO_SIGNATURE


def test_repeated_names_are_ordered_by_value() -> None:
    """A name sent twice contributes both values, smallest first, whatever the input order."""
    forward = [("Digits", "1"), ("Digits", "2")]
    assert signature("https://x/", forward, "k") == signature("https://x/", forward[::-1], "k")
    assert signature("https://x/", forward, "k") == reference_signature("https://x/", forward, "k")


def test_get_signature_is_over_the_url_alone() -> None:
    url = "https://example.com/rcml?CallSid=CA1&From=%2B1555"
    expected = base64.b64encode(hmac.new(b"key", url.encode(), hashlib.sha1).digest()).decode()
    assert signature(url, {}, "key") == expected


def test_key_and_url_change_the_signature() -> None:
    base = signature(TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN)
    assert signature(TWILIO_URL, TWILIO_PARAMS, "54321") != base
    assert signature(TWILIO_URL + "&baz=3", TWILIO_PARAMS, TWILIO_TOKEN) != base


def test_headers_carry_the_same_value_twice() -> None:
    headers = signature_headers(TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN)
    assert headers == {
        "X-Twilio-Signature": TWILIO_SIGNATURE,
        "X-Restcomm-Signature": TWILIO_SIGNATURE,
    }


names = st.sampled_from(["CallSid", "From", "To", "Digits", "SipHeader_X-A", "É"])
pairs = st.lists(st.tuples(names, st.text(max_size=20)), max_size=10)


@given(url=st.text(max_size=60), pairs=pairs, key=st.text(max_size=40))
def test_random_inputs_match_the_reference(
    url: str, pairs: list[tuple[str, str]], key: str
) -> None:
    """Any URL, key and parameters, repeated names included, sign as the reference does."""
    assert signature(url, pairs, key) == reference_signature(url, pairs, key)
