"""First start: a default organization, the super admin and the gateway token."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from router import tokens
from router.config import Settings
from router.domain import AccountStatus, Role, is_sid
from router.errors import ConfigError
from router.store.accounts import AccountStore, NewAccount

log = structlog.get_logger(__name__)

DEFAULT_DOMAIN = "default.router.local"
GATEWAY_TOKEN_KEY = "gateway_token"


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """What the first start created; secrets are set only when generated now."""

    admin_account_sid: str
    admin_auth_token: str | None
    gateway_token: str | None


async def bootstrap(accounts: AccountStore, settings: Settings) -> Bootstrap:
    """Create what a fresh database lacks; never print or log existing secrets."""
    admin_sid, admin_token = await _ensure_super_admin(accounts, settings)
    gateway_token = await _ensure_gateway_token(accounts, settings)
    return Bootstrap(admin_sid, admin_token, gateway_token)


async def _ensure_super_admin(accounts: AccountStore, settings: Settings) -> tuple[str, str | None]:
    existing = await accounts.first_super_admin()
    if existing is not None:
        await _apply_configured_admin(accounts, existing.sid, settings)
        return existing.sid, None
    if settings.admin_account_sid and not is_sid(settings.admin_account_sid, "AC"):
        raise ConfigError(
            "ROUTER_ADMIN_ACCOUNT_SID must be AC followed by 32 lowercase hex digits."
        )
    organization = await accounts.get_organization_by_domain(DEFAULT_DOMAIN)
    if organization is None:
        organization = await accounts.create_organization(DEFAULT_DOMAIN)
    token = settings.admin_auth_token or tokens.new_token()
    admin = await accounts.create_account(
        NewAccount(
            sid=settings.admin_account_sid or None,
            friendly_name="Administrator",
            role=Role.ADMINISTRATOR,
            parent_sid=None,
            organization_sid=organization.sid,
            credentials=tokens.hash_token(token),
            signing_key=tokens.new_signing_key(),
            status=AccountStatus.ACTIVE,
        )
    )
    log.info("super_admin_created", account_sid=admin.sid, organization_sid=organization.sid)
    return admin.sid, None if settings.admin_auth_token else token


async def _apply_configured_admin(accounts: AccountStore, sid: str, settings: Settings) -> None:
    """A configured super admin token takes effect on every start, not only the first;
    a configured sid that is not the database's super admin is refused."""
    if settings.admin_account_sid and settings.admin_account_sid != sid:
        raise ConfigError(
            f"ROUTER_ADMIN_ACCOUNT_SID is {settings.admin_account_sid}, but the super admin "
            f"of this database is {sid}, and a super admin's AccountSid cannot change. "
            f"Set it to {sid}, or unset it.",
            param="ROUTER_ADMIN_ACCOUNT_SID",
        )
    if not settings.admin_auth_token:
        return
    found = await accounts.get_account_with_credentials(sid)
    if found is None or tokens.verify_token(settings.admin_auth_token, found[1]):
        return
    await set_account_token(accounts, sid, settings.admin_auth_token)
    log.warning("super_admin_token_replaced", account_sid=sid, source="ROUTER_ADMIN_AUTH_TOKEN")


async def set_account_token(accounts: AccountStore, sid: str, token: str) -> None:
    """Replace an account's AuthToken, keeping everything else about it."""
    found = await accounts.get_account_with_credentials(sid)
    if found is None:
        raise ConfigError(f"Account {sid} was not found.")
    account = found[0]
    await accounts.update_account(
        sid,
        friendly_name=account.friendly_name,
        status=account.status,
        credentials=tokens.hash_token(token),
        signing_key=account.signing_key,
    )


async def store_gateway_token(accounts: AccountStore, token: str) -> None:
    """Store the hash of a new gateway token; running instances are told (NOTIFY)."""
    stored = tokens.hash_token(token)
    await accounts.put_setting(GATEWAY_TOKEN_KEY, stored.salt + stored.digest)


async def _ensure_gateway_token(accounts: AccountStore, settings: Settings) -> str | None:
    if settings.gateway_token:
        return None
    if await accounts.get_setting(GATEWAY_TOKEN_KEY) is not None:
        return None
    token = tokens.new_token()
    await store_gateway_token(accounts, token)
    return token
