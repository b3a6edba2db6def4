"""PDF reader: the text layer, presentation forms folded."""
from tests.ingest.readers.support import docs


def _pdf_bytes(lines: list[bytes], to_unicode: dict[int, str]) -> bytes:
    """A one-page PDF whose font maps byte codes to `to_unicode` (as PDF tools emit Arabic)."""
    pairs = "\n".join(f"<{c:02X}> <{''.join(f'{ord(ch):04X}' for ch in u)}>" for c, u in to_unicode.items())
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n/CMapName /X def\n"
            "1 begincodespacerange <00> <FF> endcodespacerange\n"
            f"{len(to_unicode)} beginbfchar\n{pairs}\nendbfchar\nendcmap "
            "CMapName currentdict /CMap defineresource pop end end").encode()
    content = b"BT /F1 12 Tf 72 720 Td 14 TL\n" + b"".join(b"(" + ln + b") Tj T*\n" for ln in lines) + b"ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_with_presentation_forms_is_folded(tmp_path):
    # Glyphs in visual order, as PDFs store Arabic: م ا ل س -> "سلام" once read right to left.
    forms = {0x41: "\ufeb3", 0x42: "\ufee0", 0x43: "\ufe8e", 0x44: "\ufee2", 0x20: " "}
    path = tmp_path / "a.pdf"
    path.write_bytes(_pdf_bytes([b"DCBA DCBA", b"DCBA"], forms))
    (doc,) = docs(path)
    assert "سلام" in doc.text
    assert not any("\ufb50" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufeff" for ch in doc.text)
