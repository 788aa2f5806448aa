"""Which uploads make a knowledge document: UTF-8 text of bounded size, with something in it.

The same checks serve the JSON body, multipart uploads and ``convhub agents
add-docs``, so a file refused by one is refused by all with the same message.
The content decides, not the file name or declared type: a ``.md`` full of
binary is refused, a ``notes.text`` of plain prose is welcome.
"""

from __future__ import annotations

import posixpath
import re

from convhub.errors import ConvhubError, Unprocessable

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
MAX_NAME_CHARS = 200
# The share of control characters (other than tab and newlines) beyond which "text" is binary.
MAX_CONTROL_SHARE = 0.01

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class DocumentTooLarge(ConvhubError):
    """The document is larger than convhub accepts."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ConvhubError):
    """The request body is neither JSON nor a multipart upload."""

    status_code = 415
    code = "unsupported_media_type"


def too_large(name: str) -> DocumentTooLarge:
    return DocumentTooLarge(f"Document {name!r} is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; "
                            "split it into smaller documents.")


def document_name(raw: str | None, fallback: str) -> str:
    """A display name from an uploaded file name: no directories, no control characters, bounded."""
    name = posixpath.basename((raw or "").replace("\\", "/"))
    name = _CONTROL.sub("", name).strip()
    return (name or fallback)[:MAX_NAME_CHARS]


def check_text(name: str, content: str) -> str:
    """``content`` as it will be stored (Windows line ends made plain), or a 413/422 saying what is wrong."""
    if len(content) > MAX_DOCUMENT_BYTES or len(content.encode("utf-8", errors="replace")) > MAX_DOCUMENT_BYTES:
        raise too_large(name)
    if "\x00" in content or len(_CONTROL.findall(content)) > MAX_CONTROL_SHARE * len(content):
        raise Unprocessable(f"Document {name!r} looks binary; upload text or markdown.", loc=("body", "content"))
    content = content.replace("\r\n", "\n").lstrip("\ufeff")
    if not content.strip():
        raise Unprocessable(f"Document {name!r} is empty.", loc=("body", "content"))
    return content


def decode_text(name: str, data: bytes) -> str:
    """An uploaded file's bytes as checked text: UTF-8 (a BOM is fine), nothing binary."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise too_large(name)
    if b"\x00" in data:
        raise Unprocessable(f"Document {name!r} looks binary; upload text or markdown.", loc=("body", "file"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable(
            f"Document {name!r} is not UTF-8 text; upload text or markdown (save it as UTF-8).", loc=("body", "file")
        ) from None
    return check_text(name, text)
