"""Find a TrueType font with Arabic glyphs for PDF export.

Fonts are not bundled (Amiri is ~400 KB per face but we prefer the system packages); they are
looked up in the usual font folders at run time, and a missing one is a clear error naming the
Debian package to install. Amiri comes first because it also carries Latin letters, digits and
brackets, so "[3]" markers and dates need no fallback face; Noto Naskh Arabic lacks them and is
paired with a Latin fallback.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
             Path.home() / ".local" / "share" / "fonts", Path.home() / ".fonts",
             Path("/Library/Fonts"), Path("C:/Windows/Fonts"))
# (regular, bold, Latin fallback) file names, best first.
CANDIDATES = (
    ("Amiri-Regular.ttf", "Amiri-Bold.ttf", None),
    ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf", "NotoSans-Regular.ttf"),
    ("NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", "NotoSans-Regular.ttf"),
    ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf", "DejaVuSans.ttf"),
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", None),  # has basic Arabic glyphs
)
INSTALL_HINT = ("apt-get install fonts-hosny-amiri (or fonts-noto-core), "
                "or pass the path of a .ttf font with Arabic glyphs")


class MissingFontError(RagError):
    pass


@dataclass(frozen=True)
class FontSet:
    regular: Path
    bold: Path | None = None
    fallback: Path | None = None  # for characters the Arabic face lacks


def _find(name: str, dirs: tuple[Path, ...]) -> Path | None:
    for d in dirs:
        if d.is_dir():
            hit = next(iter(sorted(d.rglob(name))), None)
            if hit:
                return hit
    return None


def arabic_fonts(font: str | Path | None = None, dirs: tuple[Path, ...] = FONT_DIRS) -> FontSet:
    """The font to use: `font` when given (it must exist), else the best one installed."""
    if font:
        path = Path(font).expanduser()
        if not path.is_file():
            raise MissingFontError(f"font file {path} does not exist; {INSTALL_HINT}")
        return FontSet(path)
    for regular, bold, fallback in CANDIDATES:
        r = _find(regular, dirs)
        if r and (fallback is None or _find(fallback, dirs)):
            return FontSet(r, _find(bold, dirs), _find(fallback, dirs) if fallback else None)
    raise MissingFontError(f"PDF export needs a TrueType font with Arabic glyphs and found none; "
                           f"{INSTALL_HINT}")
