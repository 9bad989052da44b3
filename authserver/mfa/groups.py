"""Groups of users and their MFA rules (README, MFA policies): kept in the database, read at
every login by :class:`authserver.mfa.policy.MfaPolicy` as :class:`GroupRule` values, changed
by the management API and the CLI (the callers commit and audit). No Flask here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from authserver.cache import SharedCache
from authserver.errors import InvalidRequest, NotFound
from authserver.mfa.decision import PHISHING_RESISTANT_FACTORS, GroupRule
from authserver.mfa.settings import FACTORS
from authserver.models import Group, GroupMember, User

MAX_NAME = 100
MAX_DESCRIPTION = 500
NAMEABLE_FACTORS = (*FACTORS, PHISHING_RESISTANT_FACTORS)


def checked_factors(factors: Any, what: str) -> list[str]:
    """A factor list as a group or an application names it: known names, each once."""
    if not isinstance(factors, list) or not all(isinstance(f, str) for f in factors):
        raise InvalidRequest(f"{what} must be a list of factor names.")
    unknown = [f for f in factors if f not in NAMEABLE_FACTORS]
    if unknown:
        raise InvalidRequest(f"Unknown factor '{unknown[0]}' in {what}; known: "
                             f"{', '.join(NAMEABLE_FACTORS)}.")
    return list(dict.fromkeys(factors))


class Groups:
    """The groups, their members, and the rules a user's groups set."""

    def __init__(self, session: Session, cache: SharedCache) -> None:
        self._session = session
        self._cache = cache

    def rules_of(self, user_id: str) -> tuple[GroupRule, ...]:
        """The MFA rules of the user's groups, in one query; none at all while the deployment
        has no group (known in process, authserver.cache: a login pays nothing for groups until
        the first one is made, whose commit drops every process's copy)."""
        if not self._cache.get("groups-exist", self._exist):
            return ()
        rows = self._session.execute(
            select(Group.name, Group.mfa_always, Group.mfa_factors)
            .join(GroupMember, GroupMember.group_id == Group.id)
            .where(GroupMember.user_id == user_id).order_by(Group.name))
        return tuple(GroupRule(name, always, tuple(factors)) for name, always, factors in rows)

    def _exist(self) -> bool:
        return self._session.scalar(select(Group.id).limit(1)) is not None

    def names_of(self, user_id: str) -> list[str]:
        """The names of the user's groups (the ``groups`` claim)."""
        return [rule.name for rule in self.rules_of(user_id)]

    def all(self) -> list[Group]:
        return list(self._session.scalars(select(Group).order_by(Group.name)))

    def get(self, group_id: str) -> Group:
        found = self._session.get(Group, group_id)
        if found is None:
            raise NotFound("No group with this id.")
        return found

    def create(self, name: Any, **rule: Any) -> Group:
        """A new group; InvalidRequest naming what is wrong (the caller commits)."""
        group = Group(name=self._free_name(name), description="", mfa_always=False,
                      mfa_factors=[])
        self._apply(group, rule)
        self._session.add(group)
        self._session.flush()
        return group

    def update(self, group_id: str, **changes: Any) -> Group:
        """Change a group's name, description or rule (the caller commits)."""
        group = self.get(group_id)
        if "name" in changes and changes["name"] != group.name:
            group.name = self._free_name(changes.pop("name"))
        changes.pop("name", None)
        self._apply(group, changes)
        return group

    def delete(self, group_id: str) -> None:
        self._session.delete(self.get(group_id))

    def members(self, group_id: str) -> list[User]:
        self.get(group_id)
        return list(self._session.scalars(
            select(User).join(GroupMember, GroupMember.user_id == User.id)
            .where(GroupMember.group_id == group_id).order_by(User.email)))

    def add_member(self, group_id: str, user: User) -> None:
        self.get(group_id)
        if self._session.get(GroupMember, (group_id, user.id)) is None:
            self._session.add(GroupMember(group_id=group_id, user_id=user.id))

    def remove_member(self, group_id: str, user_id: str) -> None:
        self.get(group_id)
        self._session.execute(delete(GroupMember).where(
            GroupMember.group_id == group_id, GroupMember.user_id == user_id))

    def _free_name(self, name: Any) -> str:
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME:
            raise InvalidRequest(f"'name' must be 1 to {MAX_NAME} characters.")
        name = name.strip()
        if self._session.scalar(select(Group.id).where(Group.name == name)) is not None:
            raise InvalidRequest(f"A group named '{name}' exists already.")
        return name

    @staticmethod
    def _apply(group: Group, rule: dict[str, Any]) -> None:
        unknown = sorted(set(rule) - {"description", "mfa_always", "mfa_factors"})
        if unknown:
            raise InvalidRequest(f"Unknown group field '{unknown[0]}'.")
        if "description" in rule:
            text = rule["description"]
            if not isinstance(text, str) or len(text) > MAX_DESCRIPTION:
                raise InvalidRequest(f"'description' must be text of at most "
                                     f"{MAX_DESCRIPTION} characters.")
            group.description = text
        if "mfa_always" in rule:
            if not isinstance(rule["mfa_always"], bool):
                raise InvalidRequest("'mfa_always' must be true or false.")
            group.mfa_always = rule["mfa_always"]
        if "mfa_factors" in rule:
            group.mfa_factors = checked_factors(rule["mfa_factors"], "'mfa_factors'")
