"""Groups of users and their MFA rules (README, MFA policies): ``/api/v2/groups``.

Each change is checked by :class:`authserver.mfa.groups.Groups`, audited, and committed in one
unit; then every process drops its cached "any groups?" answer (authserver.cache), so a rule
applies from the next login on every instance. Membership changes need no cache: a login reads
the user's groups.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from authserver.accounts.users import UserDirectory
from authserver.audit import AuditLog
from authserver.cache import SharedCache
from authserver.errors import NotFound
from authserver.mfa.groups import Groups
from authserver.models import Group


class GroupAdministration:
    """Changes to groups and their members, one commit each."""

    def __init__(self, session: Session, groups: Groups, users: UserDirectory, *,
                 audit: AuditLog, cache: SharedCache) -> None:
        self._session = session
        self._groups = groups
        self._users = users
        self._audit = audit
        self._cache = cache

    def create(self, name: Any, **rule: Any) -> Group:
        group = self._groups.create(name, **rule)
        self._committed("group.created", group)
        return group

    def update(self, group_id: str, **changes: Any) -> Group:
        group = self._groups.update(group_id, **changes)
        self._committed("group.updated", group, changed=sorted(changes))
        return group

    def delete(self, group_id: str) -> None:
        group = self._groups.get(group_id)
        self._groups.delete(group_id)
        self._committed("group.deleted", group)

    def add_member(self, group_id: str, user_id: str) -> None:
        user = self._users.get(user_id)
        if user is None:
            raise NotFound("No user with this id.")
        self._groups.add_member(group_id, user)
        self._audit.record("group.member_added", user_id=user_id, group_id=group_id)
        self._session.commit()

    def remove_member(self, group_id: str, user_id: str) -> None:
        self._groups.remove_member(group_id, user_id)
        self._audit.record("group.member_removed", user_id=user_id, group_id=group_id)
        self._session.commit()

    def _committed(self, event: str, group: Group, **detail: Any) -> None:
        self._audit.record(event, group_id=group.id, name=group.name, **detail)
        self._session.commit()
        self._cache.changed()
