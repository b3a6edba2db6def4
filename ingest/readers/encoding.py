"""Bytes -> text whatever the archive was saved in (UTF-8/16/32, Windows-1256, gzip).

Arabic archives come from old Windows tools and PDF extraction: cp1256 bytes must read as Arabic,
not as a Latin code page, and presentation forms must fold to base letters so search finds them.
"""
from __future__ import annotations

import gzip
import re
import unicodedata
from pathlib import Path

from ingest.readers.base import LoadError

_FORMS = re.compile(r"[\uFB50-\uFDFF\uFE70-\uFEFF]+")
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_LETTER = re.compile(r"[^\W\d_]")
_CONTROL = re.compile(r"[\x00-\x08\x0B\x0E-\x1F\x7F]")
_BINARY = "binary data, not text (wrong file extension?); rename it to its real type or remove it"


def fold_forms(text: str) -> str:
    """Presentation forms (PDF extraction) -> base letters; line ends unified; BOMs dropped."""
    text = _FORMS.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")


def _arabic_share(text: str) -> float:
    letters = len(_LETTER.findall(text))
    return len(_ARABIC.findall(text)) / letters if letters else 0.0


def decode(data: bytes) -> str:
    """Bytes -> text: BOMs first, then UTF-8, then detection that favours Arabic (cp1256).

    charset-normalizer may rank a Latin code page first for cp1256 bytes; a candidate that reads
    as Arabic wins, since that is what this archive holds.
    """
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"),
                     (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return _check_text(data.decode(enc))
            except UnicodeDecodeError as err:
                raise LoadError(f"broken {enc} text ({err.reason}); re-save it as UTF-8") from None
    if enc := _utf16_without_bom(data[:4096]):
        try:
            return _check_text(data.decode(enc))
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: judged below like any other bytes
    if b"\x00" in data[:4096]:
        raise LoadError(_BINARY)
    try:
        return _check_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    candidates = [str(m) for m in from_bytes(data)]
    try:
        candidates.append(data.decode("cp1256"))
    except UnicodeDecodeError:
        pass
    if not candidates:
        raise LoadError("unknown text encoding (or binary data); re-save it as UTF-8")
    best = next((c for c in candidates if _arabic_share(c) >= 0.5), candidates[0])
    return _check_text(best)


def _utf16_without_bom(sample: bytes) -> str:
    """"utf-16-be"/"utf-16-le" when the bytes look like UTF-16 with no BOM, else "".

    Arabic and ASCII in UTF-16 put 0x06 or 0x00 in (almost) every high byte: even positions in
    big-endian, odd in little-endian. Text in UTF-8 or cp1256 has no NULs and no such rhythm.
    """
    n = len(sample) // 2 * 2
    if n < 4:
        return ""
    for enc, high, low in (("utf-16-be", sample[0:n:2], sample[1:n:2]), ("utf-16-le", sample[1:n:2], sample[0:n:2])):
        regular = sum(b in (0x00, 0x06) for b in high)
        if regular >= 0.9 * len(high) and low.count(0) <= 0.05 * len(low):
            return enc
    return ""


def _check_text(text: str) -> str:
    if len(_CONTROL.findall(text)) > max(2, len(text) // 100):
        raise LoadError(_BINARY)
    return text


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when its name ends in .gz."""
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()
