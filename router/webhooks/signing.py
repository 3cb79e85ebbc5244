"""Request signing: Twilio's X-Twilio-Signature algorithm, also sent as X-Restcomm-Signature.

The signature is base64(HMAC-SHA1(key, url + name1 + value1 + name2 + value2 ...)) with
the POST parameters sorted by name, then by value for a repeated name. For a GET the
parameters travel in the URL, so callers pass the full URL with its query and no
parameters. Pure: no I/O, no HTTP library, so existing Twilio-style validators and our
own tests can reproduce it byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
RESTCOMM_SIGNATURE_HEADER = "X-Restcomm-Signature"

Params = Sequence[tuple[str, str]] | Mapping[str, str]


def signature(url: str, params: Params, key: str) -> str:
    """Base64 HMAC-SHA1 of `url` followed by each parameter name and value, sorted.

    `url` is the full URL exactly as requested (scheme, host, port if any, path and
    query); `params` are the form-encoded POST parameters (empty for a GET).
    """
    payload = url + "".join(name + value for name, value in _sorted_pairs(params))
    digest = hmac.new(key.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_headers(url: str, params: Params, key: str) -> dict[str, str]:
    """Both signature headers, carrying the same value, for one outbound request."""
    value = signature(url, params, key)
    return {TWILIO_SIGNATURE_HEADER: value, RESTCOMM_SIGNATURE_HEADER: value}


def _sorted_pairs(params: Params) -> list[tuple[str, str]]:
    # Sorting (name, value) tuples orders by name, then by value for repeated names,
    # which is what Twilio's current validators do. Order is by code point.
    pairs: Iterable[tuple[str, str]] = params.items() if isinstance(params, Mapping) else params
    return sorted(pairs)
