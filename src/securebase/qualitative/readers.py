"""Reading interview transcripts from plain text, Word (.docx) and WebVTT into one plain string.

Encoding of plain text and WebVTT is detected, never guessed: a byte-order mark selects UTF-8 or
UTF-16 (LE/BE, RFC 2781 section 3.2); without one the bytes must be valid UTF-8 (RFC 3629). Anything
else (Latin-1, Windows-1252, UTF-16 without a BOM, UTF-32) is refused with a message naming the file,
because a silent Latin-1 fallback would corrupt names and places before pseudonymisation.
Line endings are normalised to ``\\n`` and the text to Unicode NFC, so that character offsets
(coded segments, REFI-QDA positions) refer to one stable string.
WebVTT structure follows the W3C WebVTT specification (https://www.w3.org/TR/webvtt1/): header
``WEBVTT``, NOTE/STYLE/REGION blocks, optional cue identifier, timing line ``hh:mm:ss.ttt --> ...``,
cue payload with ``<v Speaker>`` voice spans.
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from securebase.errors import DataError, FieldError

FORMATS = ("text", "docx", "vtt")
_SUFFIX = {".txt": "text", ".text": "text", ".md": "text", ".docx": "docx", ".vtt": "vtt"}


@dataclass(frozen=True)
class ReadTranscript:
    """The text read from a file, its format and the encoding that was detected."""

    text: str
    source_format: str
    encoding: str
    name: str


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode ``data`` (from file ``name``); returns (text, encoding name). Refuses unknown encodings."""
    if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
        raise DataError(f"file '{name}' is UTF-32 (it starts with a UTF-32 byte-order mark); supported encodings "
                        "are UTF-8 (with or without BOM) and UTF-16 with a BOM: save it again as UTF-8")
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8"), "utf-8-sig"
        if data.startswith(codecs.BOM_UTF16_LE):
            return data[2:].decode("utf-16-le"), "utf-16-le"
        if data.startswith(codecs.BOM_UTF16_BE):
            return data[2:].decode("utf-16-be"), "utf-16-be"
    except UnicodeDecodeError as exc:
        raise DataError(f"file '{name}' has a byte-order mark but invalid bytes at offset {exc.start}; "
                        "save it again as UTF-8") from None
    if b"\x00" in data:
        raise DataError(f"file '{name}' contains NUL bytes but no byte-order mark: it looks like UTF-16 or UTF-32 "
                        "without a BOM, an unknown encoding; save it again as UTF-8")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1].hex()
        raise DataError(f"file '{name}' is in an unknown encoding: byte 0x{bad} at offset {exc.start} is not valid "
                        "UTF-8 and there is no UTF-8/UTF-16 byte-order mark (Latin-1 or Windows-1252 are not "
                        "guessed); save the file again as UTF-8 and import it again") from None


def read_plain(data: bytes, name: str) -> ReadTranscript:
    text, enc = decode_text(data, name)
    return ReadTranscript(normalise(text), "text", enc, name)


def read_docx(data: bytes, name: str) -> ReadTranscript:
    """Paragraphs of the body (and of table cells, row by row) joined by newlines."""
    from docx import Document

    try:
        doc = Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DataError(f"file '{name}' is not a readable Word .docx document ({type(exc).__name__}); "
                        "open it in Word and save it again as .docx") from None
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return ReadTranscript(normalise("\n".join(lines)).strip("\n"), "docx", "docx", name)


_TIMING = re.compile(r"^\s*(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}\s+-->\s+(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]*>")


def _cue_text(lines: list[str]) -> str:
    out = []
    for line in lines:
        m = _VOICE.search(line)
        speaker = m.group(1).strip() if m else None
        plain = _TAG.sub("", line)
        plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ").replace("&amp;", "&")
        out.append(f"{speaker}: {plain.strip()}" if speaker else plain.strip())
    return "\n".join(x for x in out if x)


def read_vtt(data: bytes, name: str) -> ReadTranscript:
    text, enc = decode_text(data, name)
    text = normalise(text)
    blocks = re.split(r"\n\s*\n", text.strip())
    if not blocks or not blocks[0].startswith("WEBVTT"):
        raise DataError(f"file '{name}' is not WebVTT: the first line must start with 'WEBVTT' "
                        f"(got {blocks[0].splitlines()[0][:40]!r} )" if blocks and blocks[0] else
                        f"file '{name}' is empty; a WebVTT file starts with 'WEBVTT'")
    cues = []
    for block in blocks[1:]:
        lines = block.split("\n")
        if lines[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing = next((i for i, ln in enumerate(lines) if _TIMING.match(ln)), None)
        if timing is None:
            raise DataError(f"file '{name}': cue {block.splitlines()[0][:40]!r} has no timing line "
                            "'hh:mm:ss.ttt --> hh:mm:ss.ttt'; fix the cue or export the file again")
        cue = _cue_text(lines[timing + 1:])
        if cue:
            cues.append(cue)
    return ReadTranscript("\n".join(cues), "vtt", enc, name)


def read_transcript(path: str | Path, source_format: str | None = None) -> ReadTranscript:
    """Read a transcript file; the format comes from ``source_format`` or the file suffix."""
    p = Path(path)
    fmt = source_format or _SUFFIX.get(p.suffix.lower())
    if fmt not in FORMATS:
        raise FieldError("format", fmt or p.suffix, "one of text (.txt), docx (.docx) or vtt (.vtt)",
                         f"name the format of '{p.name}' with --format")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read file '{p}': {exc.strerror}; check the path") from None
    return read_bytes(data, p.name, fmt)


def read_bytes(data: bytes, name: str, source_format: str) -> ReadTranscript:
    if source_format == "text":
        return read_plain(data, name)
    if source_format == "docx":
        return read_docx(data, name)
    if source_format == "vtt":
        return read_vtt(data, name)
    raise FieldError("format", source_format, "one of " + ", ".join(FORMATS))
