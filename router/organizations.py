"""The organizations named by a gateway event, resolved to sids and remembered.

Organizations are never renamed or deleted through the API, so a sid or domain once
found stays valid; unknown ones are asked again each time (they may be created).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from router.errors import Invalid


class OrganizationSource(Protocol):
    async def organization_sid_for_domain(self, domain: str) -> str | None: ...

    async def organization_exists(self, sid: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class OrganizationNames:
    """Destination and source organization of an event, as sids or SIP domains."""

    destination_sid: str | None = None
    destination_domain: str | None = None
    source_sid: str | None = None
    source_domain: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedOrganizations:
    """The sids an event's organization fields name, and what could not be resolved."""

    destination: str | None
    source: str | None
    # (parameter, domain) for each domain that names no organization: SPEC 3.1 reads it
    # as "no organization", and the dry run's trace says so.
    unknown_domains: tuple[tuple[str, str], ...] = ()


class OrganizationDirectory:
    """Sids for the destination and source organization fields of an event."""

    def __init__(self, source: OrganizationSource) -> None:
        self._source = source
        self._known_sids: set[str] = set()
        self._sid_by_domain: dict[str, str] = {}

    async def resolve(self, names: OrganizationNames) -> tuple[str | None, str | None]:
        """Destination and source sids (None: absent, or a domain naming no organization)."""
        found = await self.resolve_noting(names)
        return found.destination, found.source

    async def resolve_noting(self, names: OrganizationNames) -> ResolvedOrganizations:
        """As `resolve`, also telling which domains named no organization. An unknown
        organization *sid* is a gateway configuration error (Invalid)."""
        unknown: list[tuple[str, str]] = []
        destination = await self._one(
            names.destination_sid,
            names.destination_domain,
            "DestinationOrganizationSid",
            "Domain",
            unknown,
        )
        source = await self._one(
            names.source_sid, names.source_domain, "SourceOrganizationSid", "SourceDomain", unknown
        )
        return ResolvedOrganizations(destination, source, tuple(unknown))

    async def _one(
        self,
        sid: str | None,
        domain: str | None,
        sid_param: str,
        domain_param: str,
        unknown: list[tuple[str, str]],
    ) -> str | None:
        if sid is not None:
            if sid not in self._known_sids:
                if not await self._source.organization_exists(sid):
                    raise Invalid(f"Invalid {sid_param}: no organization {sid}.", param=sid_param)
                self._known_sids.add(sid)
            return sid
        if domain is None:
            return None
        found = self._sid_by_domain.get(domain)
        if found is None:
            # The gateway forwards whatever domain the caller used; an outside caller's
            # domain is not an error (unknown ones are asked again: they may be created).
            found = await self._source.organization_sid_for_domain(domain)
            if found is None:
                unknown.append((domain_param, domain))
                return None
            self._sid_by_domain[domain] = found
        return found
