"""A segment definition as a short URL-safe string, and back.

Format: a one-character version prefix, then the canonical compact JSON,
raw-deflated and base64url-encoded without padding. The decoder treats the
text as hostile: bad characters, truncation, trailing bytes and zip bombs
all give a `SegmentError` with a plain message.

>>> from core.segments.model import parse_segment
>>> seg = parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["I", "P"]}]})
>>> text = encode_segment(seg)
>>> text[0], decode_segment(text) == seg
('1', True)
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

from core.messages import msg
from core.segments.model import MAX_JSON_BYTES, Segment, SegmentError, parse_segment

PREFIX = "1"  # bump when the encoding changes; old links keep decoding by prefix
_WBITS = -15  # raw deflate: no zlib header, a few bytes shorter
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
# Deflate cannot shrink text below ~1/1032 of its size, but base64 adds a third:
# anything longer than this cannot be a definition within the JSON limit.
MAX_ENCODED_CHARS = (MAX_JSON_BYTES * 4) // 3 + 16


def encode_segment(segment: Segment) -> str:
    """The definition as a short URL-safe string (lossless; equal segments give equal text)."""
    data = parse_segment(segment).to_json().encode("utf-8")  # a hand-built tree is checked first
    packed = zlib.compressobj(level=9, wbits=_WBITS)
    raw = packed.compress(data) + packed.flush()
    return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_segment(text: str) -> Segment:
    """The definition from `encode_segment` text; `SegmentError` for anything else."""
    if not isinstance(text, str):
        raise SegmentError(msg("segment.link.not_text", type=type(text).__name__))
    text = text.strip()
    if not text:
        raise SegmentError(msg("segment.link.empty"))
    if len(text) > MAX_ENCODED_CHARS:
        raise SegmentError(msg("segment.link.too_long"))
    if text[0] != PREFIX:
        raise SegmentError(msg("segment.link.version", prefix=PREFIX))
    body = text[1:]
    if not _ALPHABET.fullmatch(body):
        bad = next(ch for ch in body if not re.fullmatch(r"[A-Za-z0-9_-]", ch))
        raise SegmentError(msg("segment.link.bad_char", char=bad))
    if len(body) % 4 == 1:
        raise SegmentError(msg("segment.link.cut_short"))
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise SegmentError(msg("segment.link.not_base64")) from None
    unpacker = zlib.decompressobj(wbits=_WBITS)
    try:
        data = unpacker.decompress(raw, MAX_JSON_BYTES + 1)
    except zlib.error:
        raise SegmentError(msg("segment.link.not_zlib")) from None
    if len(data) > MAX_JSON_BYTES:
        raise SegmentError(msg("segment.link.too_large", mb=MAX_JSON_BYTES // 1_000_000))
    if not unpacker.eof:
        raise SegmentError(msg("segment.link.cut_short"))
    if unpacker.unused_data:
        raise SegmentError(msg("segment.link.extra"))
    try:
        return parse_segment(data)
    except SegmentError as err:
        raise SegmentError(tuple(type(i)(i.path, f"{i.message} (in the segment link)") for i in err.issues)) from None
