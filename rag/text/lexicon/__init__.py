"""Word lists as data: one UTF-8 text file per list in this folder, read once at first use.

Format: the first line is `# what the list is for` (required: a list nobody can explain is noise);
further `#` lines are comments; blank lines are ignored. `words(name)` reads the entries split on
whitespace, `lines(name)` one entry per line (phrases). Entries are returned as written: callers
that compare normalised text normalise them once, where they load them.
"""
from __future__ import annotations

import functools
from pathlib import Path

from rag.errors import ConfigError

HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    return HERE / f"{name}.txt"


@functools.cache
def _body(name: str) -> tuple[str, ...]:
    p = path(name)
    try:
        raw = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as e:
        raise ConfigError(f"word list {p} is missing; reinstall the package or restore the file") from e
    if not raw or not raw[0].startswith("# ") or len(raw[0]) < 4:
        raise ConfigError(f"word list {p}: the first line must be '# what this list is for'")
    body = tuple(ln.strip() for ln in raw[1:] if ln.strip() and not ln.lstrip().startswith("#"))
    if not body:
        raise ConfigError(f"word list {p} holds no entries")
    return body


def words(name: str) -> tuple[str, ...]:
    """The list's whitespace-separated entries, in file order."""
    return tuple(w for ln in _body(name) for w in ln.split())


def lines(name: str) -> tuple[str, ...]:
    """The list's entries one per line (for phrases), in file order."""
    return _body(name)


def header(name: str) -> str:
    """What the list is for (its first line, without '# ')."""
    return path(name).read_text(encoding="utf-8").splitlines()[0][2:].strip()


def available() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.txt"))
