"""A minimal valid one-page PDF, enough for a document viewer and for byte-exact tests."""

from __future__ import annotations

PDF_SIZE = 4096  # documents are padded to this size, so OR72 can report file_size without rendering


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _build(title: str, lines: list[str], padding: int) -> bytes:
    text = ["BT /F1 11 Tf 50 800 Td 14 TL", f"({_escape(title)}) Tj T*"]
    text += [f"({_escape(line)}) Tj T*" for line in lines]
    stream = "\n".join(text + ["ET"]).encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    # A comment line right after the header pads the file; offsets below account for it.
    out = bytearray(b"%PDF-1.4\n%" + b" " * padding + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def minimal_pdf(title: str, lines: list[str], *, size: int | None = None) -> bytes:
    """A PDF showing ``title`` and ``lines``; padded to exactly ``size`` bytes when it fits."""
    pdf = _build(title, lines, 0)
    if size is None or len(pdf) >= size:
        return pdf
    # The padding does not change the width of the xref offsets (always 10 digits) but may widen
    # the startxref number by a digit: adjust once more if needed.
    padded = _build(title, lines, size - len(pdf))
    return padded if len(padded) == size else _build(title, lines, size - len(pdf) - (len(padded) - size))
