"""Optional login for `rag serve`: users, roles and PBKDF2 password hashes from Settings.auth.

An entry reads "user:role:pbkdf2_sha256$iterations$salt_hex$hash_hex"; the older
"user:pbkdf2_sha256$..." (no role) still reads, as DEFAULT_ROLE. Only hashes are stored so a
config file or environment dump never reveals a password; comparison is constant-time, and an
unknown user costs the same hashing work as a known one so timing does not reveal user names.

Roles, each including the one before: reader (ask, rate, see their own ratings and feedback),
editor (+ upload and remove documents, run a question set from a server path), admin (+ see
everyone's ratings and feedback). Without a
login there is one operator and they are admin. Failed logins are limited per user name and
client address, and per address (ui.login_limit).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rag.errors import ConfigError
from ui.login_limit import CLIENT_ADDRESS, Limits, LoginLimiter

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000  # OWASP 2023 recommendation for PBKDF2-HMAC-SHA256
ROLES = ("reader", "editor", "admin")
# Old two-part entries: every user could upload and remove before roles existed, so existing
# setups keep that; seeing everyone's feedback (admin) is new and must be granted explicitly.
DEFAULT_ROLE = "editor"
NO_LOGIN_ROLE = "admin"  # no login: the one local operator
ACTIONS = {"ask": "reader", "rate": "reader", "upload": "editor", "remove": "editor", "evaluate": "editor",
           "see_all": "admin"}


def can(role: str, action: str) -> bool:
    """Whether `role` may do `action` (see ACTIONS); an unknown role may do nothing."""
    need = ACTIONS[action]
    return role in ROLES and ROLES.index(role) >= ROLES.index(need)


_DOING = {"upload": ("upload documents", "رفع الوثائق"), "remove": ("remove documents", "حذف الوثائق"),
          "see_all": ("see everyone's ratings and feedback", "رؤية تقييمات الجميع"),
          "ask": ("ask", "السؤال"), "rate": ("rate answers", "تقييم الإجابات"),
          "evaluate": ("run a question set (it reads files on the server)", "تشغيل مجموعة أسئلة")}


def denied(role: str, action: str) -> str:
    """Why `role` may not do `action`, in English and Arabic ("" when it may)."""
    if can(role, action):
        return ""
    en, ar = _DOING[action]
    need = ACTIONS[action]
    return (f"permission denied: to {en} you need the {need} role (yours: {role or 'none'}). "
            f"لا تملك صلاحية {ar}: تحتاج دور {need} (دورك: {role or 'لا دور'}).")


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """The stored form of `password`: "pbkdf2_sha256$iterations$salt_hex$hash_hex"."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def auth_entry(user: str, password: str, role: str | None = None, **kw) -> str:
    """A complete Settings.auth entry, e.g. for `RAG_AUTH=` or rag.toml's `auth = [...]`;
    "user:role:hash" with a role, the older "user:hash" (DEFAULT_ROLE) without."""
    if not user or ":" in user:
        raise ConfigError("a user name must be non-empty and contain no ':'")
    if role is not None and role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return f"{user}:{role + ':' if role else ''}{hash_password(password, **kw)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algorithm, iterations, salt_hex, hash_hex = encoded.split("$")
        if algorithm != ALGORITHM:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), hash_hex.lower())


@dataclass(frozen=True)
class User:
    name: str
    role: str
    encoded: str


def parse_users(entries: Iterable[str]) -> dict[str, User]:
    """user -> User; a malformed entry (or unknown role) is a configuration error naming the fix."""
    users: dict[str, User] = {}
    for entry in entries:
        user, sep, rest = entry.partition(":")
        role, encoded = DEFAULT_ROLE, rest
        if not rest.startswith(ALGORITHM + "$"):
            role, _, encoded = rest.partition(":")
            if role not in ROLES:
                raise ConfigError(f"auth entry for {user or '?'!r}: role {role!r} is not one of {', '.join(ROLES)}")
        parts = encoded.split("$")
        if not sep or not user or len(parts) != 4 or parts[0] != ALGORITHM or not parts[1].isdigit():
            raise ConfigError(
                f"auth entry for {user or '?'!r} is not 'user:role:{ALGORITHM}$iterations$salt_hex$hash_hex'; "
                "make one with `rag hash-password USER --role ROLE`")
        users[user] = User(user, role, encoded)
    return users


def parse_entries(entries: Iterable[str]) -> dict[str, str]:
    """user -> encoded hash (see parse_users for roles)."""
    return {name: u.encoded for name, u in parse_users(entries).items()}


def role_of(users: dict[str, User], username: str | None) -> str:
    """The caller's role: NO_LOGIN_ROLE when no login is configured, else the user's ("" for a
    name that is not configured, which may do nothing)."""
    if not users:
        return NO_LOGIN_ROLE
    u = users.get(username or "")
    return u.role if u else ""


def make_auth(entries: Iterable[str], limiter: LoginLimiter | Limits | None = None
              ) -> Callable[[str, str], bool] | None:
    """The auth callable for these entries, or None when login is not configured. With limits, a
    user past its failure limit at the caller's address (CLIENT_ADDRESS), or an address past its
    own, is refused (LoginRefused, turned by the app into an HTTP 429 with the message) without
    checking the password."""
    users = parse_entries(entries)
    if not users:
        return None
    dummy = next(iter(users.values()))
    limits = Limits(limiter) if isinstance(limiter, LoginLimiter) else limiter

    def check(username: str, password: str) -> bool:
        user, address = (username or "").strip(), CLIENT_ADDRESS.get()
        if limits is not None:
            limits.check(user, address)
        encoded = users.get(username)
        ok = verify_password(password or "", encoded or dummy) and encoded is not None
        if limits is not None:
            limits.record(user, address, ok)
        return ok

    return check


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to any interface


def exposure_warning(host: str, entries: Iterable[str], insecure_no_login: bool) -> str:
    """Refuse (ConfigError) to serve beyond loopback without a login: the app uploads and removes
    documents. With insecure_no_login the caller gets the warning to print on every start ("" when
    there is nothing to warn about)."""
    if is_loopback(host) or parse_entries(entries):
        return ""
    if not insecure_no_login:
        raise ConfigError(
            f"refusing to serve on {host} without a login: anyone on the network could upload and remove "
            "documents. Set RAG_AUTH to entries made by `rag hash-password USER` (comma-separated), "
            "bind to 127.0.0.1, or pass --insecure-no-login if this network is trusted")
    return (f"WARNING: serving on {host} with no login (--insecure-no-login): anyone who can reach this "
            "address can read, upload and remove documents")
