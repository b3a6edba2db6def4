"""Uploads from the app: validate, copy or safely unzip into <data_dir>/uploads/<stamp>/, ingest.

Nothing a browser sends decides where bytes land: names are reduced to a safe base name, a zip
is checked entry by entry before anything is extracted (absolute paths, '..', symlinks, nested
archives, too many files or too many bytes reject the whole archive), and every target path is
checked to resolve inside the upload folder. Each skipped file is reported with its reason.
"""
from __future__ import annotations

import re
import shutil
import stat
import time
import unicodedata
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable, Sequence

from ingest.readers import SUPPORTED_SUFFIXES
from rag.config import Settings

ALLOWED_SUFFIXES = tuple(SUPPORTED_SUFFIXES) + (".zip",)
MAX_ZIP_FILES = 5000
ZIP_EXPANSION = 4  # an archive may unpack to at most this many times the upload size limit
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


class UploadRejected(ValueError):
    """A file or archive that will not be written; the message says why, for the summary."""


def suffix_of(name: str) -> str:
    low = name.lower()
    return next((s for s in sorted(ALLOWED_SUFFIXES, key=len, reverse=True) if low.endswith(s)), "")


def safe_name(name: str, max_len: int = 120) -> str:
    """A base name that is safe on any filesystem: no directories, control or shell characters,
    no leading dot, bounded length (the suffix kept)."""
    base = unicodedata.normalize("NFC", re.split(r"[\\/]", name or "")[-1])
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" .")
    base = re.sub(r"_+", "_", base)
    if len(base) > max_len:
        suf = suffix_of(base)
        base = base[: max_len - len(suf)] + suf
    return base or "file"


def _unique(folder: Path, name: str) -> Path:
    target = folder / name
    suf = suffix_of(name)
    stem = name[: len(name) - len(suf)] if suf else name
    i = 1
    while target.exists():
        target = folder / f"{stem}-{i}{suf}"
        i += 1
    return target


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def check_zip(zf: zipfile.ZipFile, max_total: int, max_files: int = MAX_ZIP_FILES) -> list[zipfile.ZipInfo]:
    """The entries to extract, or UploadRejected if any entry is unsafe (zip-slip, symlink, bomb)."""
    members, total = [], 0
    for info in zf.infolist():
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise UploadRejected(f"entry {name!r} points outside the upload folder (path traversal)")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UploadRejected(f"entry {name!r} is a symbolic link")
        if info.is_dir():
            continue
        total += info.file_size
        members.append(info)
        if len(members) > max_files:
            raise UploadRejected(f"more than {max_files} files in one archive")
        if total > max_total:
            raise UploadRejected(f"unpacks to more than {max_total // (1 << 20)} MB")
    return members


def extract_zip(path: Path, dest: Path, max_total: int) -> tuple[list[str], list[dict]]:
    """Extract the supported files of a checked archive under dest; (written names, skipped)."""
    written, skipped = [], []
    with zipfile.ZipFile(path) as zf:
        members = check_zip(zf, max_total)
        budget = max_total
        for info in members:
            parts = [safe_name(p) for p in PurePosixPath(info.filename.replace("\\", "/")).parts]
            shown = "/".join(parts)
            if any(p.startswith(".") or p.startswith("__MACOSX") for p in PurePosixPath(info.filename).parts):
                continue  # hidden files and macOS resource forks are not documents
            suf = suffix_of(parts[-1])
            if suf == ".zip":
                skipped.append({"name": f"{path.name}/{shown}", "reason": "nested archives are not extracted"})
                continue
            if not suf:
                skipped.append({"name": f"{path.name}/{shown}", "reason": "unsupported file type"})
                continue
            folder = dest.joinpath(*parts[:-1])
            target = _unique(folder, parts[-1])
            if not _inside(target, dest):
                raise UploadRejected(f"entry {info.filename!r} points outside the upload folder")
            folder.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while block := src.read(1 << 20):  # count real bytes: headers can lie about sizes
                    budget -= len(block)
                    if budget < 0:
                        raise UploadRejected(f"unpacks to more than {max_total // (1 << 20)} MB")
                    out.write(block)
            written.append(str(target.relative_to(dest)))
    return written, skipped


def stage(settings: Settings, paths: Sequence[str | Path], display_names: Sequence[str] | None = None
          ) -> tuple[Path, list[str], list[dict]]:
    """Copy/extract uploads into a fresh folder under <data_dir>/uploads; (folder, files, skipped)."""
    root = Path(settings.data_dir) / "uploads"
    folder = root / time.strftime("%Y%m%d-%H%M%S")
    i = 1
    while folder.exists():
        folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{i}"
        i += 1
    folder.mkdir(parents=True)
    limit = settings.upload_max_mb * (1 << 20)
    files: list[str] = []
    skipped: list[dict] = []
    for i, p in enumerate(paths):
        p = Path(p)
        shown = safe_name(display_names[i] if display_names else p.name)
        suf = suffix_of(shown)
        if not suf:
            skipped.append({"name": shown, "reason": f"unsupported file type; allowed: {', '.join(ALLOWED_SUFFIXES)}"})
            continue
        if not p.is_file():
            skipped.append({"name": shown, "reason": "not a readable file"})
            continue
        if p.stat().st_size > limit:
            skipped.append({"name": shown, "reason": f"larger than the {settings.upload_max_mb} MB limit"})
            continue
        if suf == ".zip":
            sub = _unique(folder, shown[: -len(suf)] or "archive")
            sub.mkdir(parents=True)
            try:
                written, bad = extract_zip(p, sub, limit * ZIP_EXPANSION)
            except (UploadRejected, zipfile.BadZipFile, OSError) as e:
                shutil.rmtree(sub, ignore_errors=True)
                skipped.append({"name": shown, "reason": f"archive rejected: {e}"})
                continue
            files.extend(f"{sub.name}/{w}" for w in written)
            skipped.extend(bad)
        else:
            target = _unique(folder, shown)
            shutil.copyfile(p, target)
            files.append(target.name)
    return folder, files, skipped


def ingest_uploads(settings: Settings, paths: Sequence[str | Path], *, embedder, store,
                   progress: Callable[[float, str], None] | None = None) -> dict:
    """Stage the uploads and ingest them with the app's own store; the summary the UI shows."""
    from ingest.pipeline import run_ingest

    folder, files, skipped = stage(settings, paths)
    summary = {"folder": str(folder), "files": files, "added": 0, "updated": 0, "unchanged": 0,
               "failed": 0, "chunks": 0, "total_chunks": store.stats()["chunks"], "documents": [],
               "skipped": skipped}
    if not files:
        shutil.rmtree(folder, ignore_errors=True)
        return summary
    report = run_ingest(settings, [folder], embedder=embedder, store=store, progress=progress,
                        show_progress=False)
    for f in report.failures:
        try:
            name = str(Path(f.path).resolve().relative_to(folder.resolve()))
        except ValueError:
            name = Path(f.path).name
        skipped.append({"name": name + (f":{f.line}" if f.line else ""), "reason": f.reason})
    base = str(folder.resolve())
    docs = [d for d in store.documents() if d.path.startswith(base)]
    summary.update(added=report.added, updated=report.updated, unchanged=report.unchanged,
                   failed=report.failed, chunks=report.chunks, total_chunks=report.total_chunks,
                   documents=[{"doc_id": d.doc_id, "title": d.title} for d in docs])
    return summary
