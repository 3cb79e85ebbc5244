"""The dry run (SPEC 4, `GET /v1/routes/resolve`): a decision without side effects,
with the trace of every stage the resolver went through."""

from __future__ import annotations

from router.engine.answers import Explanation, RoutingAnswer, UnknownDomain
from router.engine.events import ExplainRequest
from router.errors import Forbidden
from router.organizations import OrganizationDirectory, OrganizationNames
from router.resolver import Query, Resolver
from router.routing import decide
from router.store.accounts import AccountStore


async def explain(
    request: ExplainRequest,
    *,
    resolver: Resolver,
    organizations: OrganizationDirectory,
    accounts: AccountStore,
) -> Explanation:
    """Resolve and decide as a routed event would, recording nothing."""
    unknown: tuple[tuple[str, str], ...] = ()
    if request.tenant_organization_sid is None:
        found = await organizations.resolve_noting(request.organizations)
        destination, source, unknown = found.destination, found.source, found.unknown_domains
    else:
        destination = source = await _own_organization(
            accounts, request.tenant_organization_sid, request.organizations
        )
    resolution = await resolver.resolve(
        Query(request.to, request.channel, destination, source),
        trace=True,
        full_trace=request.full_trace,
    )
    assert resolution.trace is not None  # asked for
    return Explanation(
        RoutingAnswer.of(request.to, decide(resolution, request.channel)),
        request.channel,
        resolution.trace,
        tuple(UnknownDomain(field, domain) for field, domain in unknown),
    )


async def _own_organization(accounts: AccountStore, own: str, names: OrganizationNames) -> str:
    """A tenant resolves within its own organization; naming another is refused without
    looking it up, so no answer tells whether it exists."""
    domains = {names.destination_domain, names.source_domain} - {None}
    if domains:
        organization = await accounts.get_organization(own)
        domains.discard(organization.domain_name if organization else None)
    if domains or {names.destination_sid, names.source_sid} - {None, own}:
        raise Forbidden("A tenant may resolve only within its own organization.")
    return own
