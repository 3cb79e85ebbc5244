"""RCML fetch: ask the tenant's web application what to do with a call or message.

The primary URL is requested with the event's parameters; if it fails (connection
error, timeout, non-2xx status, or a body that is not an XML document rooted at
<Response>) the fallback URL, when there is one, gets the same parameters plus
ErrorCode and ErrorUrl (SPEC section 5). Every request is signed (SPEC section 7).

Redirects are followed by hand, so that every hop is checked against the deny list and
signed over its own URL, at most `max_redirects` of them. Method changes follow what
browsers do: 303 always becomes a GET without body; 301 and 302 turn a POST into a GET
without body; 307 and 308 keep the method and re-send the same form body. The Location
is requested exactly as given: parameters only travel again with a 307/308 POST body.
"""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal
from xml.parsers import expat

import aiohttp
import structlog
from yarl import URL

from router.config import Settings
from router.errors import Invalid
from router.outbound import DenyList, Failure, OutboundRequest, Sender, SendFailed

_log = structlog.get_logger(__name__)

Source = Literal["primary", "fallback"]

METHODS = frozenset({"GET", "POST"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_BODY_PRESERVING_REDIRECTS = frozenset({307, 308})
_READ_CHUNK_BYTES = 64 * 1024
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class FetchErrorCode(IntEnum):
    """The ErrorCode sent to the fallback URL, Twilio's numbering."""

    HTTP_FAILURE = 11200  # refused, non-2xx, too many redirects, too large, denied
    TIMEOUT = 11205
    BAD_DOCUMENT = 12100


_ERROR_CODES = {
    Failure.TIMEOUT: FetchErrorCode.TIMEOUT,
    Failure.TRANSPORT: FetchErrorCode.HTTP_FAILURE,
}


@dataclass(frozen=True, slots=True)
class RcmlTarget:
    """Where to fetch RCML: the primary URL and method, and an optional fallback."""

    url: str
    method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", _method("method", self.method))
        object.__setattr__(
            self, "fallback_method", _method("fallback_method", self.fallback_method)
        )
        # An empty fallback column means "no fallback", not "a fallback at ''".
        object.__setattr__(self, "fallback_url", self.fallback_url or None)


def _method(name: str, value: str) -> str:
    method = value.strip().upper()
    if method not in METHODS:
        raise Invalid.param_value(name, "GET or POST")
    return method


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP request made while fetching (each redirect hop is its own attempt)."""

    source: Source
    url: str
    method: str
    status: int | None
    error: str | None
    latency_ms: float


@dataclass(frozen=True, slots=True)
class RcmlOutcome:
    """The result of a fetch.

    `document` is set when the primary (source "primary") or the fallback (source
    "fallback") answered a good document. `error_code` and `error_url` describe the
    last failure: the primary's when the fallback saved the day (what the fallback was
    sent as ErrorCode/ErrorUrl), the fallback's when both failed, the primary's when
    there was no fallback; both are None when the primary succeeded. URLs here and in
    `attempts` never carry the user:password part.
    """

    document: str | None
    source: Source | None
    error_code: int | None
    error_url: str | None
    attempts: tuple[Attempt, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether a document was obtained."""
        return self.document is not None


class BadDocument(ValueError):
    """The body is not a well-formed, DTD-free XML document rooted at <Response>."""


class _FetchFailure(Exception):
    """One URL failed; carries the ErrorCode to report and a reason to log."""

    def __init__(self, code: FetchErrorCode, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class _Redirect:
    status: int
    location: str


@dataclass(frozen=True, slots=True)
class _Leg:
    """One URL of a fetch, primary or fallback, and the shared list of attempts."""

    source: Source
    url: str
    method: str
    params: Mapping[str, str]
    key: str = field(repr=False)  # the signing key must never reach a log line
    attempts: list[Attempt]


def _first_request(url: str, method: str, params: Mapping[str, str]) -> OutboundRequest:
    """The first hop: GET merges the parameters into the URL's own query."""
    return OutboundRequest.with_params(_http_url(url), method, params)


def _redirected(request: OutboundRequest, redirect: _Redirect) -> OutboundRequest:
    """The next hop after a redirect (method rules in the module docstring)."""
    try:
        url = _http_url(request.url.join(URL(redirect.location)))
    except ValueError as error:
        raise _FetchFailure(FetchErrorCode.HTTP_FAILURE, f"bad redirect: {error}") from error
    if redirect.status in _BODY_PRESERVING_REDIRECTS:
        return OutboundRequest(url, request.method, request.form)
    return OutboundRequest(url, "GET", None)


def _http_url(url: str | URL) -> URL:
    try:
        parsed = URL(url) if isinstance(url, str) else url
    except (TypeError, ValueError) as error:
        raise _FetchFailure(FetchErrorCode.HTTP_FAILURE, f"bad URL: {error}") from error
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise _FetchFailure(FetchErrorCode.HTTP_FAILURE, "not an absolute http(s) URL")
    return parsed


class RcmlFetcher:
    """Fetches RCML with signing, deny-list checks, manual redirects and fallback.

    The session must come from `router.outbound.create_client_session`: requests go
    through `router.outbound.Sender`, which with that session's resolver keeps them
    off denied addresses.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        connect_timeout: float = 5.0,
        total_timeout: float = 10.0,
        max_redirects: int = 5,
        max_body_bytes: int = 1_048_576,
        deny_list: DenyList,
    ) -> None:
        self._sender = Sender(session, deny_list)
        self._connect_timeout = connect_timeout
        self._total_timeout = total_timeout
        self._max_redirects = max_redirects
        self._max_body_bytes = max_body_bytes

    @classmethod
    def from_settings(cls, session: aiohttp.ClientSession, settings: Settings) -> RcmlFetcher:
        """A fetcher with the rcml_* limits and the deny list of the settings."""
        return cls(
            session,
            connect_timeout=settings.rcml_connect_timeout,
            total_timeout=settings.rcml_total_timeout,
            max_redirects=settings.rcml_max_redirects,
            max_body_bytes=settings.rcml_max_body_bytes,
            deny_list=DenyList.from_settings(settings),
        )

    async def fetch(
        self, target: RcmlTarget, params: Mapping[str, str], signing_key: str
    ) -> RcmlOutcome:
        """The RCML document for `target`, from the primary or else the fallback URL."""
        primary = _Leg("primary", target.url, target.method, params, signing_key, [])
        try:
            document = await self._fetch_leg(primary)
        except _FetchFailure as failure:
            return await self._fall_back(target, primary, failure)
        return RcmlOutcome(document, "primary", None, None, tuple(primary.attempts))

    async def _fall_back(
        self, target: RcmlTarget, primary: _Leg, failure: _FetchFailure
    ) -> RcmlOutcome:
        attempts = primary.attempts
        # Credentials in the primary URL are the primary's secret, not the fallback's.
        primary_url = _without_credentials(target.url)
        if target.fallback_url is None:
            return RcmlOutcome(None, None, failure.code, primary_url, tuple(attempts))
        params = {**primary.params, "ErrorCode": str(int(failure.code)), "ErrorUrl": primary_url}
        fallback = _Leg(
            "fallback", target.fallback_url, target.fallback_method, params, primary.key, attempts
        )
        try:
            document = await self._fetch_leg(fallback)
        except _FetchFailure as last:
            fallback_url = _without_credentials(target.fallback_url)
            return RcmlOutcome(None, None, last.code, fallback_url, tuple(attempts))
        return RcmlOutcome(document, "fallback", failure.code, primary_url, tuple(attempts))

    async def _fetch_leg(self, leg: _Leg) -> str:
        try:
            return await self._follow(_first_request(leg.url, leg.method, leg.params), leg)
        except _FetchFailure as failure:
            _log.warning(
                "rcml_fetch_failed",
                url=_without_credentials(leg.url),
                source=leg.source,
                error_code=int(failure.code),
                reason=failure.reason,
            )
            raise

    async def _follow(self, request: OutboundRequest, leg: _Leg) -> str:
        # One deadline for the whole redirect chain: redirects must not multiply the
        # time a caller waits for an answer.
        deadline = asyncio.get_running_loop().time() + self._total_timeout
        for _hop in range(self._max_redirects + 1):
            reply = await self._send(request, leg, deadline)
            if isinstance(reply, str):
                return reply
            request = _redirected(request, reply)
        raise _FetchFailure(
            FetchErrorCode.HTTP_FAILURE, f"more than {self._max_redirects} redirects"
        )

    async def _send(self, request: OutboundRequest, leg: _Leg, deadline: float) -> str | _Redirect:
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            status, reply = await self._exchange(request, leg.key, deadline)
            return reply
        except _FetchFailure as failure:
            status, error = failure.status, failure.reason
            raise
        finally:
            latency_ms = (time.perf_counter() - started) * 1000
            leg.attempts.append(
                Attempt(leg.source, request.public_url, request.method, status, error, latency_ms)
            )

    async def _exchange(
        self, request: OutboundRequest, signing_key: str, deadline: float
    ) -> tuple[int, str | _Redirect]:
        try:
            async with self._sender.send(
                request, signing_key, time_limits=self._timeout(deadline)
            ) as response:
                return response.status, await self._read(response)
        except SendFailed as failure:
            code = _ERROR_CODES[failure.failure]
            raise _FetchFailure(code, failure.reason) from failure

    def _timeout(self, deadline: float) -> aiohttp.ClientTimeout:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise _FetchFailure(FetchErrorCode.TIMEOUT, "timed out")
        return aiohttp.ClientTimeout(
            total=remaining, sock_connect=min(self._connect_timeout, remaining)
        )

    async def _read(self, response: aiohttp.ClientResponse) -> str | _Redirect:
        status = response.status
        location = response.headers.get("Location")
        if status in REDIRECT_STATUSES and location:
            return _Redirect(status, location)
        if not 200 <= status < 300:
            raise _FetchFailure(FetchErrorCode.HTTP_FAILURE, f"HTTP status {status}", status)
        body = await self._read_body(response)
        try:
            return check_document(body, response.charset)
        except BadDocument as error:
            raise _FetchFailure(FetchErrorCode.BAD_DOCUMENT, str(error), status) from error

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        # Content-Length is only a hint (absent when chunked, compressed otherwise):
        # the cap is enforced on the bytes actually read.
        declared = response.content_length
        if declared is not None and declared > self._max_body_bytes:
            raise self._too_large(response.status)
        body = bytearray()
        async for chunk in response.content.iter_chunked(_READ_CHUNK_BYTES):
            body += chunk
            if len(body) > self._max_body_bytes:
                raise self._too_large(response.status)
        return bytes(body)

    def _too_large(self, status: int) -> _FetchFailure:
        reason = f"body larger than {self._max_body_bytes} bytes"
        return _FetchFailure(FetchErrorCode.HTTP_FAILURE, reason, status)


def _without_credentials(url: str) -> str:
    try:
        return str(URL(url).with_user(None))
    except (TypeError, ValueError):
        return url


class _DocumentScan:
    """expat callbacks: remember the root element and the declared encoding; refuse DTDs.

    A DOCTYPE is refused outright (what defusedxml does): entity declarations are the
    door to billion-laughs expansion and external entity reads, and RCML never needs one.
    """

    def __init__(self) -> None:
        self.root: str | None = None
        self.declared_encoding: str | None = None

    def xml_declaration(self, version: str, encoding: str | None, standalone: int) -> None:
        self.declared_encoding = encoding

    def start_element(self, name: str, attributes: Any) -> None:
        if self.root is None:
            self.root = name

    def doctype(self, *_: Any) -> None:
        raise BadDocument("DOCTYPE declarations are not accepted")

    def entity(self, *_: Any) -> None:
        raise BadDocument("ENTITY declarations are not accepted")


def check_document(body: bytes, charset: str | None = None) -> str:
    """The RCML text of `body` if it is well-formed XML rooted at <Response>.

    `charset` is the HTTP Content-Type charset, which wins over the XML declaration
    (RFC 7303). Raises BadDocument otherwise, and for any DOCTYPE or ENTITY declaration.
    """
    scan = _DocumentScan()
    try:
        parser = expat.ParserCreate(encoding=charset)
        parser.XmlDeclHandler = scan.xml_declaration
        parser.StartElementHandler = scan.start_element
        parser.StartDoctypeDeclHandler = scan.doctype
        parser.EntityDeclHandler = scan.entity
        parser.Parse(body, True)
    except BadDocument:
        raise
    except (expat.ExpatError, LookupError, ValueError) as error:
        raise BadDocument(f"not well-formed XML: {error}") from error
    if scan.root != "Response":
        raise BadDocument(f"root element is {scan.root!r}, not 'Response'")
    return _decode(body, charset or scan.declared_encoding)


def _decode(body: bytes, encoding: str | None) -> str:
    if encoding is None:
        encoding = "utf-16" if body[:2] in _UTF16_BOMS else "utf-8"
    try:
        return body.decode(encoding).removeprefix("\ufeff")
    except (LookupError, UnicodeDecodeError) as error:
        raise BadDocument(f"cannot decode as {encoding}: {error}") from error
