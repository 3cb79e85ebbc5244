"""Maintenance commands.

`router admin reset-token`: new super admin and gateway tokens, on a stopped or
running service (a running one sees them at once: accounts are read per request,
and the gateway token is re-read on the settings_changed notification).
`router backup` / `router restore`: pg_dump / pg_restore of the configured database."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from router import config, tokens
from router.banner import SECRETS_FILE_NAME
from router.bootstrap import set_account_token, store_gateway_token
from router.errors import ConfigError
from router.store import dump
from router.store.accounts import AccountStore
from router.store.opening import database_dsn, open_database, require_existing_database

ROTATABLE = ("admin", "gateway")
# What overrides each stored token, named as a user would set it.
_CONFIGURED_BY = {"admin": "admin_auth_token", "gateway": "gateway_token"}


async def reset_token(settings: config.Settings, args: argparse.Namespace) -> int:
    """Rotate, print the new values once; nothing changes when any of them is refused."""
    which = (args.only,) if args.only else ROTATABLE
    for name in which:
        _refuse_when_configured(settings, name)
    require_existing_database(settings)
    lines = []
    async with open_database(settings) as database:
        accounts = AccountStore(database)
        if "admin" in which:
            admin = await accounts.first_super_admin()
            if admin is None:
                raise ConfigError("This database has no super admin yet: run router serve once.")
            token = tokens.new_token()
            await set_account_token(accounts, admin.sid, token)
            lines += [f"Super admin AccountSid: {admin.sid}", f"Super admin AuthToken:  {token}"]
        if "gateway" in which:
            token = tokens.new_token()
            await store_gateway_token(accounts, token)
            lines.append(f"Gateway token:          {token}")
    print("\n".join(lines))
    print("The old tokens no longer work. These are shown once; store them.")
    if set(which) == set(ROTATABLE):
        _forget_initial_secrets(settings)
    return 0


def _forget_initial_secrets(settings: config.Settings) -> None:
    """The first start's secrets file now holds only revoked tokens: remove it."""
    stale = Path(settings.data_dir) / SECRETS_FILE_NAME
    if stale.exists():
        stale.unlink()
        print(f"Removed {stale}, which held the previous tokens.")


def _refuse_when_configured(settings: config.Settings, name: str) -> None:
    field = _CONFIGURED_BY[name]
    if getattr(settings, field):
        raise ConfigError(
            f"The {name} token is set by {config.variable_name(field)} (or {field} in the "
            "settings file), which wins over a stored one: change it there and restart."
        )


async def backup(settings: config.Settings, args: argparse.Namespace) -> int:
    """pg_dump the configured database (embedded or not) to a file; safe while serving."""
    require_existing_database(settings)
    target: Path = args.file.resolve()
    async with database_dsn(settings) as dsn:
        await asyncio.to_thread(dump.dump, dsn, target)
    print(f"backup written to {target}")
    return 0


async def restore(settings: config.Settings, args: argparse.Namespace) -> int:
    """Replace the database's contents with a dump, then apply newer migrations.
    Stop every router using the database first."""
    source: Path = args.file.resolve()
    async with database_dsn(settings) as dsn:
        await asyncio.to_thread(dump.restore, dsn, source)
    async with open_database(settings):  # a dump from an older version is migrated now
        pass
    print(f"restored from {source}")
    return 0
