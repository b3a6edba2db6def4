"""The login rate limit: failed logins counted per (user name, client address) and per address.

Gradio's auth callable gets only the name and password, so the address travels beside it: the
ClientAddress middleware (pure ASGI, on the app ui.app.launch builds) puts the request's client
address into CLIENT_ADDRESS, which the callable reads; the login route awaits it in the same
context, and anyio's worker threads copy the context too. The address is the socket peer:
uvicorn rewrites it from X-Forwarded-For only for Settings.trusted_proxies (empty by default), so
a header a client makes up cannot spread its guesses over invented addresses.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from contextvars import ContextVar

CLIENT_ADDRESS: ContextVar[str] = ContextVar("rag_client_address", default="")


class ClientAddress:
    """ASGI middleware: each HTTP request runs with CLIENT_ADDRESS set to its client's address."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = scope.get("client")
        token = CLIENT_ADDRESS.set(client[0] if client else "")
        try:
            return await self.app(scope, receive, send)
        finally:
            CLIENT_ADDRESS.reset(token)


class LoginRefused(Exception):
    """Too many failed logins; raised from the auth callable (see ui.auth.make_auth)."""


class LoginLimiter:
    """At most `max_failures` failed logins per key within `window_s` seconds; past that every
    attempt, right password or not, is refused until the oldest failure ages out. Refused attempts
    are not counted, so waiting always ends the block. `max_failures` 0: no limit. `clock` is
    injectable."""

    def __init__(self, max_failures: int = 5, window_s: float = 60, clock: Callable[[], float] = time.monotonic):
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self._failures: dict[Hashable, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: Hashable) -> deque:
        q = self._failures.setdefault(key, deque())
        cutoff = self.clock() - self.window_s
        while q and q[0] <= cutoff:
            q.popleft()
        return q

    def wait(self, key: Hashable) -> float:
        """Seconds until `key` may try again (0 when it may now)."""
        with self._lock:
            q = self._recent(key)
            if self.max_failures <= 0 or len(q) < self.max_failures:
                return 0.0
            return max(0.0, q[0] + self.window_s - self.clock())

    def failed(self, key: Hashable) -> None:
        with self._lock:
            self._recent(key).append(self.clock())
            if len(self._failures) > 10_000:  # invented names must not grow this without bound
                for k in [k for k in self._failures if not self._recent(k)]:
                    del self._failures[k]

    def succeeded(self, key: Hashable) -> None:
        with self._lock:
            self._failures.pop(key, None)


def refusal_message(seconds: float, limiter: LoginLimiter, per_address: bool = False) -> str:
    """The 429's text, English then Arabic: for this user from this address, or (per_address)
    for any user name from this address."""
    s = max(1, int(seconds + 0.999))
    en, ar = (("from this address", "من هذا العنوان") if per_address
              else ("for this user from this address", "لهذا المستخدم من هذا العنوان"))
    return (f"Too many failed logins {en} ({limiter.max_failures} within {int(limiter.window_s)} s): "
            f"try again in {s} s. محاولات دخول فاشلة كثيرة {ar}: أعد المحاولة بعد {s} ثانية.")


class Limits:
    """Both limits a login is checked against: per (user, address) and per address."""

    def __init__(self, per_user: LoginLimiter, per_address: LoginLimiter | None = None):
        self.per_user, self.per_address = per_user, per_address

    def check(self, user: str, address: str) -> None:
        """Raise LoginRefused when this user from this address, or this address, is blocked."""
        wait = self.per_user.wait((user, address))
        if wait > 0:
            raise LoginRefused(refusal_message(wait, self.per_user))
        if self.per_address is not None and address:
            wait = self.per_address.wait(address)
            if wait > 0:
                raise LoginRefused(refusal_message(wait, self.per_address, per_address=True))

    def record(self, user: str, address: str, ok: bool) -> None:
        """Count a failure against both; a success clears only this user's count at this address
        (one good account must not reset an address that sprays names)."""
        if ok:
            self.per_user.succeeded((user, address))
            return
        self.per_user.failed((user, address))
        if self.per_address is not None and address:
            self.per_address.failed(address)
