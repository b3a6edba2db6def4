"""Uploads from the app: validate, copy or safely unzip into <data_dir>/uploads/<stamp>/, ingest.

Nothing a browser sends decides where bytes land: names are reduced to a safe base name, a zip
is checked entry by entry before anything is extracted (an entry with an absolute path, '..' or a
symlink is skipped and reported, the good entries are kept; too many files or too many bytes reject
the whole archive), and every target path is checked to resolve inside the upload folder. Each
skipped file is reported with its reason, zip entries always as "archive.zip/inner/path".
A file whose bytes are already indexed (the same upload again, or a file the CLI ingested) is
reported as unchanged rather than added a second time under its new upload folder. A record whose
id another document already has is stored under an id scoped to its file, and listed in the
summary's "notices" (ingest.ids): an upload never replaces a document it did not bring.
"""
from __future__ import annotations

import re
import shutil
import stat
import time
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from ingest.pipeline import file_sha256
from ingest.readers import SUPPORTED_SUFFIXES
from rag.config import Settings
from ui.render.archive import shown_path

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


def check_zip(zf: zipfile.ZipFile, max_total: int, max_files: int = MAX_ZIP_FILES
              ) -> tuple[list[zipfile.ZipInfo], list[dict]]:
    """(entries safe to extract, unsafe entries skipped with their reason); UploadRejected when the
    archive as a whole is too big (a bomb) or holds too many files."""
    members, bad, total = [], [], 0
    for info in zf.infolist():
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            bad.append({"entry": name, "reason": f"entry {name!r} points outside the upload folder (path traversal)"})
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            bad.append({"entry": name, "reason": f"entry {name!r} is a symbolic link"})
            continue
        if info.is_dir():
            continue
        total += info.file_size
        members.append(info)
        if len(members) > max_files:
            raise UploadRejected(f"more than {max_files} files in one archive")
        if total > max_total:
            raise UploadRejected(f"unpacks to more than {max_total // (1 << 20)} MB")
    return members, bad


def _shown_entry(zip_name: str, entry: str) -> str:
    parts = [safe_name(p) for p in PurePosixPath(entry.replace("\\", "/")).parts if p not in ("/", "..")]
    return "/".join([zip_name, *parts])


def extract_zip(path: Path, dest: Path, max_total: int, zip_name: str | None = None
                ) -> tuple[list[tuple[str, str]], list[dict]]:
    """Extract the supported files of a checked archive under dest:
    ([(written path relative to dest, shown name "archive.zip/inner/path")], skipped)."""
    zip_name = zip_name or path.name
    written, skipped = [], []
    with zipfile.ZipFile(path) as zf:
        members, bad = check_zip(zf, max_total)
        skipped.extend({"name": _shown_entry(zip_name, b["entry"]), "reason": b["reason"]} for b in bad)
        budget = max_total
        for info in members:
            parts = [safe_name(p) for p in PurePosixPath(info.filename.replace("\\", "/")).parts]
            shown = "/".join([zip_name, *parts])
            if any(p.startswith(".") or p.startswith("__MACOSX") for p in PurePosixPath(info.filename).parts):
                continue  # hidden files and macOS resource forks are not documents
            suf = suffix_of(parts[-1])
            if suf == ".zip":
                skipped.append({"name": shown, "reason": "nested archives are not extracted"})
                continue
            if not suf:
                skipped.append({"name": shown, "reason": "unsupported file type"})
                continue
            folder = dest.joinpath(*parts[:-1])
            target = _unique(folder, parts[-1])
            if not _inside(target, dest):
                skipped.append({"name": shown, "reason": f"entry {info.filename!r} points outside the upload folder"})
                continue
            folder.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while block := src.read(1 << 20):  # count real bytes: headers can lie about sizes
                    budget -= len(block)
                    if budget < 0:
                        raise UploadRejected(f"unpacks to more than {max_total // (1 << 20)} MB")
                    out.write(block)
            written.append((str(target.relative_to(dest)), shown))
    return written, skipped


def stage(settings: Settings, paths: Sequence[str | Path], display_names: Sequence[str] | None = None
          ) -> tuple[Path, list[str], list[dict]]:
    """Copy/extract uploads into a fresh folder under <data_dir>/uploads; (folder, shown names of
    the staged files, skipped)."""
    folder, staged, skipped = _stage(settings, paths, display_names)
    return folder, [shown for _, shown in staged], skipped


def _stage(settings: Settings, paths: Sequence[str | Path], display_names: Sequence[str] | None = None
           ) -> tuple[Path, list[tuple[Path, str]], list[dict]]:
    root = Path(settings.data_dir) / "uploads"
    folder = root / time.strftime("%Y%m%d-%H%M%S")
    i = 1
    while folder.exists():
        folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{i}"
        i += 1
    folder.mkdir(parents=True)
    limit = settings.upload_max_mb * (1 << 20)
    staged: list[tuple[Path, str]] = []
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
                written, bad = extract_zip(p, sub, limit * ZIP_EXPANSION, zip_name=shown)
            except (UploadRejected, zipfile.BadZipFile, OSError) as e:
                shutil.rmtree(sub, ignore_errors=True)
                skipped.append({"name": shown, "reason": f"archive rejected: {e}"})
                continue
            staged.extend((sub / rel, name) for rel, name in written)
            skipped.extend(bad)
        else:
            target = _unique(folder, shown)
            shutil.copyfile(p, target)
            staged.append((target, shown))
    return folder, staged, skipped


def _already_indexed(store, staged: list[tuple[Path, str]]) -> tuple[list[tuple[Path, str]], list[dict]]:
    """Split staged files into (new ones, ones whose bytes are already indexed): a re-upload lands
    in a new folder, so the ingest's per-path check alone would add it a second time."""
    known: dict[str, str] = {}
    doc_paths = store.doc_paths()
    for path in doc_paths:
        state = store.file_state(path)
        if state and state[2]:
            known.setdefault(state[2], path)
    titles = {d.path: d.title for d in store.documents()} if known else {}
    fresh, same = [], []
    for target, shown in staged:
        sha = file_sha256(target)
        if sha in known:
            same.append({"name": shown, "path": known[sha], "title": titles.get(known[sha], ""),
                         "docs": len(doc_paths.get(known[sha], ())) or 1})
            target.unlink()
        else:
            known[sha] = str(target.resolve())  # the same file twice in one upload counts once
            fresh.append((target, shown))
    return fresh, same


def ingest_uploads(settings: Settings, paths: Sequence[str | Path], *, embedder, store,
                   progress: Callable[[float, str], None] | None = None) -> dict:
    """Stage the uploads and ingest them with the app's own store; the summary the UI shows."""
    from ingest.pipeline import run_ingest

    folder, staged, skipped = _stage(settings, paths)
    staged, same = _already_indexed(store, staged)
    # Relative to the data dir: the server's layout is not the user's business.
    summary = {"folder": folder.resolve().relative_to(Path(settings.data_dir).resolve()).as_posix(), "files": [shown for _, shown in staged], "added": 0, "updated": 0,
               "unchanged": sum(s["docs"] for s in same), "failed": 0, "chunks": 0,
               "total_chunks": store.stats()["chunks"], "documents": [], "skipped": skipped,
               "same": [{"name": s["name"], "title": s["title"]} for s in same], "notices": []}
    if not staged:
        shutil.rmtree(folder, ignore_errors=True)
        return summary
    shown_of = {str(t.resolve()): shown for t, shown in staged}
    report = run_ingest(settings, [folder], embedder=embedder, store=store, progress=progress,
                        show_progress=False)
    def named(path: str, line: int | None) -> str:
        return shown_of.get(str(Path(path).resolve()), Path(path).name) + (f":{line}" if line else "")

    for f in report.failures:
        skipped.append({"name": named(f.path, f.line), "reason": f.reason})
    # A record whose id another document has: both kept, this one under an id scoped to its file.
    notices = [{"name": named(n.path, n.line), "record_id": n.record_id, "doc_id": n.doc_id,
                "kept": shown_of.get(str(Path(n.kept).resolve())) or shown_path(n.kept)}
               for n in report.notices]
    base = str(folder.resolve())
    docs = [d for d in store.documents() if d.path.startswith(base)]
    summary.update(added=report.added, updated=report.updated, unchanged=summary["unchanged"] + report.unchanged,
                   failed=report.failed, chunks=report.chunks, total_chunks=report.total_chunks,
                   documents=[{"doc_id": d.doc_id, "title": d.title} for d in docs], notices=notices)
    return summary
