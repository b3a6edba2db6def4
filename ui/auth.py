"""Optional login for `rag serve`: users and PBKDF2 password hashes come from Settings.auth.

An entry reads "user:pbkdf2_sha256$iterations$salt_hex$hash_hex". Only hashes are stored so a
config file or environment dump never reveals a password; comparison is constant-time, and an
unknown user costs the same hashing work as a known one so timing does not reveal user names.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from typing import Callable, Iterable

from rag.errors import ConfigError

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000  # OWASP 2023 recommendation for PBKDF2-HMAC-SHA256


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """The stored form of `password`: "pbkdf2_sha256$iterations$salt_hex$hash_hex"."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def auth_entry(user: str, password: str, **kw) -> str:
    """A complete Settings.auth entry, e.g. for `RAG_AUTH=` or rag.toml's `auth = [...]`."""
    if not user or ":" in user:
        raise ConfigError("a user name must be non-empty and contain no ':'")
    return f"{user}:{hash_password(password, **kw)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algorithm, iterations, salt_hex, hash_hex = encoded.split("$")
        if algorithm != ALGORITHM:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt_hex), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), hash_hex.lower())


def parse_entries(entries: Iterable[str]) -> dict[str, str]:
    """user -> encoded hash; a malformed entry is a configuration error naming the fix."""
    users: dict[str, str] = {}
    for entry in entries:
        user, sep, encoded = entry.partition(":")
        parts = encoded.split("$")
        if not sep or not user or len(parts) != 4 or parts[0] != ALGORITHM or not parts[1].isdigit():
            raise ConfigError(
                f"auth entry for {user or '?'!r} is not 'user:{ALGORITHM}$iterations$salt_hex$hash_hex'; "
                "make one with ui.auth.auth_entry(user, password)")
        users[user] = encoded
    return users


def make_auth(entries: Iterable[str]) -> Callable[[str, str], bool] | None:
    """Gradio's auth callable for these entries, or None when login is not configured."""
    users = parse_entries(entries)
    if not users:
        return None
    dummy = next(iter(users.values()))

    def check(username: str, password: str) -> bool:
        encoded = users.get(username)
        ok = verify_password(password or "", encoded or dummy)
        return ok and encoded is not None

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
