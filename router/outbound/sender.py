"""The one way a request leaves for a tenant's URL (RCML fetches and status callbacks).

Every request is built the same way (a GET carries the parameters in its query, after
the URL's own; a POST carries them as a form), signed over the URL the receiver sees
(SPEC 7), checked against the deny list, and sent without following redirects: a
redirect is the caller's to judge, hop by hop. Whatever keeps a request from getting
an answer, from a denied address to a reset connection, ends as one `SendFailed` of
two classes, a timeout or a transport failure.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
from yarl import URL

from router.config import Settings
from router.outbound.destinations import DenyingResolver, DenyList, check_destination
from router.webhooks.signing import signature_headers

USER_AGENT = "router/0.1"


class Failure(enum.Enum):
    """Why a request got no answer."""

    TIMEOUT = "timeout"  # no answer within the time limit
    TRANSPORT = "transport"  # denied, refused, reset, malformed answer or URL


class SendFailed(Exception):
    """The request got no HTTP answer; `reason` is what a log line or attempt shows."""

    def __init__(self, failure: Failure, reason: str) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """One request: the exact URL, the method and, for a POST, the form body."""

    url: URL
    method: str
    form: Mapping[str, str] | None

    @classmethod
    def with_params(cls, url: URL, method: str, params: Mapping[str, str]) -> OutboundRequest:
        """GET merges the parameters into the URL's own query; POST sends them as a form."""
        if method == "GET":
            return cls(url.extend_query(params), "GET", None)
        return cls(url, method, dict(params))

    @property
    def public_url(self) -> str:
        """The URL as the receiver sees it: no credentials, no fragment."""
        return str(self.url.with_user(None).with_fragment(None))


class Sender:
    """Sends signed requests through a session made by `create_client_session`.

    That session's resolver keeps host names off denied addresses; the sender checks
    IP-literal hosts, which never reach a resolver.
    """

    def __init__(self, session: aiohttp.ClientSession, deny_list: DenyList) -> None:
        self._session = session
        self._deny_list = deny_list

    @contextlib.asynccontextmanager
    async def send(
        self,
        request: OutboundRequest,
        signing_key: str,
        *,
        time_limits: aiohttp.ClientTimeout,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response to `request`, signed with `signing_key`, redirects unfollowed.

        Raises SendFailed when there is no answer; reading the body inside the block
        fails the same way (a timeout or a reset while reading is still no answer).
        """
        signed = signature_headers(request.public_url, request.form or {}, signing_key)
        try:
            check_destination(request.url, self._deny_list)
            async with self._session.request(
                request.method,
                request.url,
                data=request.form,
                headers={**signed, **(headers or {})},
                allow_redirects=False,
                timeout=time_limits,
            ) as response:
                yield response
        except TimeoutError as error:
            raise SendFailed(Failure.TIMEOUT, "timed out") from error
        except (aiohttp.ClientError, OSError, ValueError) as error:
            raise SendFailed(Failure.TRANSPORT, str(error) or type(error).__name__) from error


def create_client_session(
    settings: Settings, *, limit_per_host: int | None = None
) -> aiohttp.ClientSession:
    """A ClientSession whose connections only reach allowed addresses.

    Keep-alive pooling, no cookies (one tenant's cookies must never reach another's
    requests), no proxy or .netrc from the environment, and the RCML timeouts as a
    backstop for callers that do not pass their own. Call it inside the running loop
    and close it on shutdown.
    """
    connector = aiohttp.TCPConnector(
        resolver=DenyingResolver(DenyList.from_settings(settings)),
        limit_per_host=limit_per_host or 0,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": USER_AGENT},
        timeout=aiohttp.ClientTimeout(
            total=settings.rcml_total_timeout, sock_connect=settings.rcml_connect_timeout
        ),
        trust_env=False,
    )
