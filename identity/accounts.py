"""Local accounts: create, list, change password, disable, group membership, and logging in with a
password. Used by `lienthong users|groups`, by HTTP Basic on the API and by the console's login form."""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.errors import InvalidRequest, NotFound

from .models import Account, Membership
from .passwords import generate_password, hash_password, verify_password
from .principal import ROLES, Principal

_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


@dataclass
class AccountView:
    id: str
    name: str | None
    roles: list[str]
    groups: list[str]
    agency: str | None
    topics: list[str]
    messages: list[str]
    disabled: bool


class Accounts:
    """The accounts in one database. Password checks are cached for a short while (keyed by a
    digest of the password and the account's revision), because Argon2 is slow by design and a
    remote worker sends its password with every poll."""

    CACHE_SECONDS = 60.0

    def __init__(self, db, clock):
        self.db = db
        self.clock = clock
        self._cache: dict[tuple[str, bytes], tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    # --- administration ---------------------------------------------------------------------

    def add(self, account_id: str, *, password: str | None = None, roles=(), groups=(), agency: str | None = None,
            topics=(), messages=(), name: str | None = None) -> str:
        """Creates the account and answers its password (generated when none is given)."""
        errors = {}
        if not account_id or len(account_id) > 128 or not set(account_id) <= _ID_CHARS:
            errors["id"] = ["Tên đăng nhập chỉ gồm chữ cái không dấu, chữ số và . _ - @ (tối đa 128 ký tự)."]
        unknown = sorted(set(roles) - set(ROLES))
        if unknown or not roles:
            errors["roles"] = [f"Vai trò phải thuộc: {', '.join(ROLES)}" + (f" (không có: {', '.join(unknown)})" if unknown else "")]
        if password is not None and len(password) < 10:
            errors["password"] = ["Mật khẩu cần ít nhất 10 ký tự."]
        if errors:
            raise InvalidRequest("Invalid account: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), errors)
        password = password or generate_password()
        with self.db.session() as session:
            if session.get(Account, account_id) is not None:
                raise InvalidRequest(f"Account {account_id} exists already", {"id": ["Tên đăng nhập đã có."]})
            session.add(Account(id=account_id, display_name=name, password_hash=hash_password(password),
                                roles=sorted(set(roles)), agency_code=agency, topics=sorted(set(topics)),
                                messages=sorted(set(messages)), disabled=False, created=self.clock.now(), revision=1))
            session.flush()
            for group in sorted(set(groups)):
                session.add(Membership(account_id=account_id, group_id=group))
        return password

    def list(self) -> list[AccountView]:
        with self.db.reading() as session:
            accounts = session.scalars(select(Account).order_by(Account.id)).all()
            groups = _groups_of(session, [a.id for a in accounts])
            return [_view(a, groups.get(a.id, [])) for a in accounts]

    def get(self, account_id: str) -> AccountView:
        with self.db.reading() as session:
            account = _existing(session, account_id)
            return _view(account, _groups_of(session, [account_id]).get(account_id, []))

    def set_password(self, account_id: str, password: str | None = None) -> str:
        if password is not None and len(password) < 10:
            raise InvalidRequest("The password is too short", {"password": ["Mật khẩu cần ít nhất 10 ký tự."]})
        password = password or generate_password()
        self._change(account_id, password_hash=hash_password(password))
        return password

    def set_disabled(self, account_id: str, disabled: bool) -> None:
        self._change(account_id, disabled=disabled)

    def update(self, account_id: str, **values) -> None:
        """roles, agency_code, topics, messages, display_name."""
        if "roles" in values and set(values["roles"]) - set(ROLES):
            raise InvalidRequest("Unknown role", {"roles": [f"Vai trò phải thuộc: {', '.join(ROLES)}"]})
        self._change(account_id, **values)

    def add_to_group(self, account_id: str, group: str) -> None:
        with self.db.session() as session:
            account = _existing(session, account_id)
            if session.get(Membership, (account_id, group)) is None:
                session.add(Membership(account_id=account_id, group_id=group))
            account.revision += 1

    def remove_from_group(self, account_id: str, group: str) -> None:
        with self.db.session() as session:
            account = _existing(session, account_id)
            session.execute(delete(Membership).where(Membership.account_id == account_id, Membership.group_id == group))
            account.revision += 1

    def groups(self) -> dict[str, list[str]]:
        """Every group with its members."""
        with self.db.reading() as session:
            rows = session.execute(select(Membership.group_id, Membership.account_id)
                                   .order_by(Membership.group_id, Membership.account_id)).all()
        members: dict[str, list[str]] = {}
        for group, account in rows:
            members.setdefault(group, []).append(account)
        return members

    def exist(self) -> bool:
        with self.db.reading() as session:
            return session.execute(select(Account.id).limit(1)).first() is not None

    def _change(self, account_id: str, **values) -> None:
        with self.db.session() as session:
            account = _existing(session, account_id)
            for name, value in values.items():
                setattr(account, name, value)
            account.revision += 1

    # --- logging in ---------------------------------------------------------------------------

    def authenticate(self, account_id: str, password: str) -> Principal | None:
        """The principal for a correct password of an enabled account, else None."""
        digest = hashlib.sha256(f"{account_id}\0{password}".encode()).digest()
        key = (account_id, digest)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        with self.db.reading() as session:
            account = session.get(Account, account_id)
            if account is None or account.disabled:
                return None
            if cached and cached[0] > now and cached[1].claims.get("revision") == account.revision:
                return cached[1]
            if not verify_password(account.password_hash, password):
                return None
            principal = principal_of(account, _groups_of(session, [account_id]).get(account_id, []))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now + self.CACHE_SECONDS, principal)
        return principal

    def principal(self, account_id: str) -> Principal | None:
        """The principal of an enabled account (a browser session names its account)."""
        with self.db.reading() as session:
            account = session.get(Account, account_id)
            if account is None or account.disabled:
                return None
            return principal_of(account, _groups_of(session, [account_id]).get(account_id, []))


def principal_of(account: Account, groups: list[str]) -> Principal:
    return Principal(id=account.id, roles=frozenset(account.roles), groups=frozenset(groups), agency=account.agency_code,
                     topics=frozenset(account.topics or ()), messages=frozenset(account.messages or ()),
                     name=account.display_name, source="local", claims={"revision": account.revision})


def _existing(session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"No account {account_id}")
    return account


def _groups_of(session: Session, ids: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    if ids:
        for account_id, group in session.execute(select(Membership.account_id, Membership.group_id)
                                                 .where(Membership.account_id.in_(ids))
                                                 .order_by(Membership.group_id)):
            groups.setdefault(account_id, []).append(group)
    return groups


def _view(account: Account, groups: list[str]) -> AccountView:
    return AccountView(id=account.id, name=account.display_name, roles=list(account.roles), groups=groups,
                       agency=account.agency_code, topics=list(account.topics or ()),
                       messages=list(account.messages or ()), disabled=account.disabled)
