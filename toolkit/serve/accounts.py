"""Office accounts: argon2 password hashes, logins logged, failed logins limited per name and per address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, func, insert, select

from toolkit.core.errors import UserError
from toolkit.serve.clock import ago, now
from toolkit.serve.records import log
from toolkit.serve.tables import events, users

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password of anyone")  # unknown names cost the same time as known ones
MIN_PASSWORD = 8
MAX_FAILURES = 5  # failed logins per name, and per address, within WINDOW_MINUTES
WINDOW_MINUTES = 15


def add_user(conn: Connection, name: str, password: str) -> int:
    name = name.strip()
    if not name or len(name) > 100:
        raise UserError("账号名不能为空，且最多 100 字")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码太短：至少 {MIN_PASSWORD} 个字符")
    if conn.execute(select(users.c.id).where(users.c.name == name)).first():
        raise UserError(f"账号“{name}”已存在")
    user_id = conn.execute(
        insert(users).values(name=name, password_hash=_hasher.hash(password), created_at=now())
    ).inserted_primary_key[0]
    log(conn, "cli", "user_added", subject=name)
    return user_id


def rate_limited(conn: Connection, name: str, ip: str) -> bool:
    """Too many failed logins lately for this name or from this address."""
    since = ago(WINDOW_MINUTES)
    failed = select(func.count()).select_from(events).where(events.c.kind == "login_failed", events.c.at >= since)
    by_name = conn.execute(failed.where(events.c.subject == name[:200])).scalar_one()
    by_ip = conn.execute(failed.where(events.c.ip == ip[:64])).scalar_one() if ip else 0
    return by_name >= MAX_FAILURES or by_ip >= MAX_FAILURES * 4


def _verified(row: Mapping[str, Any] | None, password: str) -> bool:
    try:
        return _hasher.verify(row["password_hash"] if row else _DUMMY, password) and row is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate(conn: Connection, name: str, password: str, ip: str, how: str) -> Mapping[str, Any] | None:
    """The user when the password is right; every attempt is logged (the log is what limits the rate)."""
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    ok = _verified(row, password)
    if how == "form" or not ok:  # HTTP Basic success on every API call would flood the log
        log(conn, f"user:{name}" if ok else "anonymous", "login" if ok else "login_failed", subject=name, ip=ip, how=how)
    return row if ok else None


def user_by_id(conn: Connection, user_id: int) -> Mapping[str, Any] | None:
    return conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
