"""Provisioning of applications: the RCML URL a number's channel can route to."""

from __future__ import annotations

from collections.abc import Mapping

from router.domain import Account, Application
from router.errors import Field, Invalid, NotFound
from router.store.accounts import AccountStore


class Applications:
    """An account's applications."""

    def __init__(self, store: AccountStore) -> None:
        self._store = store

    async def list(self, account: Account) -> list[Application]:
        return await self._store.list_applications(account.sid)

    async def get(self, account: Account, sid: str) -> Application:
        application = await self._store.get_application(account.sid, sid)
        if application is None:
            raise NotFound(f"Application {sid} was not found.", param=Field("sid"))
        return application

    async def create(self, account: Account, fields: Mapping[str, object]) -> Application:
        """A new application; `fields` are Application's field names (a name at least)."""
        if "friendly_name" not in fields:
            raise Invalid.of_field(
                "friendly_name", "Missing {friendly_name}: an application needs a name."
            )
        return await self._store.create_application(account.sid, fields)

    async def update(self, current: Application, changes: Mapping[str, object]) -> Application:
        """Change the given fields; numbers using it see the change at once."""
        return await self._store.update_application(current, changes)

    async def delete(self, application: Application) -> None:
        """Delete an application no number uses."""
        await self._store.delete_application(application.account_sid, application.sid)
