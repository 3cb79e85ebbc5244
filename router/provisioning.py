"""Pure provisioning rules: which application sids a number may point at, and how
an update merges into the stored number."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from router.domain import (
    APPLICATION_FIELDS,
    APPLICATION_KINDS,
    CHANNEL_FIELDS,
    SETTABLE_FIELDS,
    ApplicationKind,
    IncomingNumber,
)
from router.errors import Field, Invalid


def application_sids(settings: Mapping[str, object]) -> list[str]:
    """The application sids a request sets (cleared ones excluded)."""
    return [str(settings[f]) for f in APPLICATION_FIELDS if settings.get(f)]


def check_applications(
    settings: Mapping[str, object],
    found: Mapping[str, tuple[str, ApplicationKind]],
    owners: Collection[str],
) -> None:
    """Every application a number points at exists, belongs to one of `owners` (the
    number's account and its ancestors) and is of a kind that fits its channel."""
    for field in APPLICATION_FIELDS:
        sid = settings.get(field)
        if not sid:
            continue
        param = Field(field)
        owner_and_kind = found.get(str(sid))
        if owner_and_kind is None or owner_and_kind[0] not in owners:
            raise Invalid(
                ("Invalid ", param, f": no application {sid} in this account."), param=param
            )
        if owner_and_kind[1] not in APPLICATION_KINDS[field]:
            accepted = " or ".join(sorted(APPLICATION_KINDS[field]))
            raise Invalid(
                (
                    "Invalid ",
                    param,
                    f": application {sid} is of kind {owner_and_kind[1]}, ",
                    param,
                    f" accepts kind {accepted}.",
                ),
                param=param,
            )


def merged_settings(current: IncomingNumber, changes: Mapping[str, object]) -> dict[str, object]:
    """The number's settable fields after an update: present parameters change."""
    merged = {name: getattr(current, name) for name in SETTABLE_FIELDS}
    merged.update({k: v for k, v in changes.items() if k in merged})
    return merged


def check_fallbacks(settings: Mapping[str, object]) -> None:
    """A fallback URL needs a primary URL or an application to fall back from."""
    for fields in CHANNEL_FIELDS.values():
        fallback, primary, application = fields.fallback_url, fields.url, fields.application_sid
        if (
            fallback
            and settings.get(fallback)
            and not (settings.get(primary) or settings.get(application))
        ):
            raise Invalid(
                (
                    "Invalid ",
                    Field(fallback),
                    ": a fallback URL needs ",
                    Field(primary),
                    " or ",
                    Field(application),
                    ".",
                ),
                param=Field(fallback),
                code=21405,
            )
