"""What a PDF's streams unpack to, counted before PDFium reads the file.

PDFium unpacks the page contents, fonts and object streams of a PDF to read its text, and holds what
they unpack to: a 1.4 MB file whose one page unpacked to 1.5 GB of spaces took 2.7 GB of memory.
`unpacked_stream_bytes` follows each stream's filters as PDFium reads them (names written with #xx
escapes or abbreviated, one or an array of them, given in the stream's dictionary or in an object of
their own) through Flate, LZW, run-length, ASCII hex and ASCII 85, chained in any order, and counts
what comes out a megabyte at a time, holding none of it. Images are not counted: PDFium does not
unpack them for the text.

The streams of an encrypted file are ciphertext here: `coder.extract.pdf` counts them in the copy
PDFium saves without the encryption. Not counted: a filter given in an object that lies inside an
object stream (then the stream is counted as Flate data when it is).
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Callable, Iterator

CHUNK = 1 << 20

_DELIMITERS = rb"\s/\[\]<>(){}%"
_NAME = re.compile(rb"/[^" + _DELIMITERS + rb"]*")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# PDFium takes the stream's data from the line after the keyword: "\r\n", "\n" or a lone "\r".
_STREAM_START = re.compile(rb"(?<!end)stream[ \t\f\x00]*(?:\r\n|\r|\n)")
_FILTER_VALUE = re.compile(rb"\[[^\]]*\]|/[^" + _DELIMITERS + rb"]*")  # an array of filters, or one name
_FILTER = re.compile(rb"/Filter\s*(" + _FILTER_VALUE.pattern + rb"|\d+\s+\d+\s+R)")
_FILTER_PART = re.compile(rb"/[^" + _DELIMITERS + rb"]*|\d+\s+\d+\s+R")  # of an array: a name or a reference
_IMAGE = re.compile(rb"/Subtype\s*/Image(?![^" + _DELIMITERS + rb"])")
_REFERENCE = re.compile(rb"(\d+)\s+(\d+)\s+R")
_OBJECT = re.compile(rb"(?<![0-9])(\d+)\s+(\d+)\s+obj")
_EARLY_CHANGE_OFF = re.compile(rb"/EarlyChange\s+0(?![0-9.])")
_ABBREVIATIONS = {b"Fl": b"FlateDecode", b"LZW": b"LZWDecode", b"RL": b"RunLengthDecode",
                  b"AHx": b"ASCIIHexDecode", b"A85": b"ASCII85Decode"}
_NOT_HEX = bytes(byte for byte in range(256) if byte not in b"0123456789abcdefABCDEF")
_A85_SPACES = b" \t\r\n\f\x00"
_NOT_A85 = re.compile(rb"[^!-uz]")
_LZW_CLEAR, _LZW_END, _LZW_MAX_CODES = 256, 257, 4096
_MAX_NESTED_SNIFFED = 4
_BODY_BYTES = 4096  # of an object holding a /Filter value: its start is the value
_VERSIONS_READ = 64  # of an object written again and again: the last ones (an update appends the newest)


class _PastLimit(Exception):
    pass


def unpacked_stream_bytes(data: bytes, *, limit: int) -> int:
    """Bytes the file's streams (images aside) unpack to, counted until the count passes `limit`
    (then it is returned as it stands)."""
    total = 0
    objects: dict[tuple[bytes, bytes], list[int]] | None = None

    def bodies(number: bytes, generation: bytes) -> list[bytes]:
        nonlocal objects
        if objects is None:
            objects = _object_starts(data)
        starts = objects.get(_object_key(number, generation), [])
        return [data[start:start + _BODY_BYTES] for start in starts[-_VERSIONS_READ:]]

    for head, start in _streams(data):
        head = _unescaped_names(head)
        if _IMAGE.search(head):
            continue
        chains = [_filter_chain(value, bodies) for value in _FILTER.findall(head)]
        budget = limit - total
        total += max((_unpacked(data, start, chain, head, budget) for chain in chains if chain), default=0)
        if total > limit:
            break
    return total


def _streams(data: bytes) -> Iterator[tuple[bytes, int]]:
    """Each stream's dictionary (the bytes from its object's "obj" to "stream") and where its data
    starts. The search goes on after the stream's "endstream", so a stream's own bytes are searched
    once, and each dictionary is read once: linear in the file."""
    position = 0
    while (found := _STREAM_START.search(data, position)) is not None:
        head = data[position:found.start()]
        object_start = head.rfind(b"obj")
        if object_start >= 0:
            head = head[object_start + 3:]
        start = found.end()
        yield head, start
        end = data.find(b"endstream", start)
        position = len(data) if end < 0 else end + len(b"endstream")


def _unescaped_names(text: bytes) -> bytes:
    """`text` with every name's #xx escapes written out (/Flate#44ecode is /FlateDecode)."""
    if b"#" not in text:
        return text
    return _NAME.sub(lambda name: _ESCAPE.sub(lambda escape: bytes([int(escape[1], 16)]), name[0]), text)


def _object_starts(data: bytes) -> dict[tuple[bytes, bytes], list[int]]:
    """Where each numbered object's body starts, every version of it (an updated file appends new
    ones): positions, not bytes, so a file of a million tiny objects costs no more than its size."""
    starts: dict[tuple[bytes, bytes], list[int]] = {}
    for found in _OBJECT.finditer(data):
        starts.setdefault(_object_key(found[1], found[2]), []).append(found.end())
    return starts


def _object_key(number: bytes, generation: bytes) -> tuple[bytes, bytes]:
    """An object's number and generation as written, leading zeros aside (6 0 R is object 006 0)."""
    return number.lstrip(b"0") or b"0", generation.lstrip(b"0") or b"0"


def _filter_chain(value: bytes, bodies: Callable[[bytes, bytes], list[bytes]], *, resolve: bool = True) -> list[bytes]:
    """The filter names of a /Filter value, in the order PDFium applies them; a value in an object of
    its own (`N G R`) is looked up once. [b"?"] when the object cannot be found (sniffed instead)."""
    if value.startswith(b"/"):
        return [_ABBREVIATIONS.get(value[1:], value[1:])]
    if value.startswith(b"["):
        chain: list[bytes] = []
        for part in _FILTER_PART.finditer(value):
            chain.extend(_filter_chain(part[0], bodies, resolve=resolve))
        return chain
    reference = _REFERENCE.fullmatch(value)
    if reference is None or not resolve:
        return []
    found = bodies(reference[1], reference[2])
    if not found:
        return [b"?"]
    # The value at the start of the object's body: a name or an array (of every version, the longest chain).
    chains = []
    for body in found:
        body = _unescaped_names(body.split(b"endobj", 1)[0]).strip()
        head = _FILTER_VALUE.match(body)
        chains.append(_filter_chain(head[0], bodies, resolve=False) if head else [])
    return max(chains, key=len)


def _unpacked(data: bytes, start: int, chain: list[bytes], head: bytes, budget: int) -> int:
    """Bytes the stream starting at `start` unpacks to through `chain`, counted up to just past
    `budget` (each filter's output is checked, not only the last one's)."""
    chunks: Iterator[bytes] = _raw_chunks(data, start)
    decoded = False
    for name in chain:
        decoder = _DECODERS.get(name)
        if decoder is None:
            break  # an image's filter, encryption, or one PDFium does not know: nothing more is unpacked
        chunks = _checked(decoder(chunks, head), budget)
        decoded = True
    if not decoded:
        return 0
    counted = 0
    try:
        for chunk in chunks:
            counted += len(chunk)
            if counted > budget:
                break
    except _PastLimit:
        return budget + 1
    return counted


def _raw_chunks(data: bytes, start: int) -> Iterator[memoryview]:
    view = memoryview(data)
    for position in range(start, len(data), CHUNK):
        yield view[position:position + CHUNK]


def _checked(chunks: Iterator[bytes], budget: int) -> Iterator[bytes]:
    counted = 0
    for chunk in chunks:
        counted += len(chunk)
        if counted > budget:
            raise _PastLimit
        yield chunk


def _inflate(chunks: Iterator[bytes], head: bytes) -> Iterator[bytes]:
    """Flate data, unpacked a megabyte at a time until its end (what follows it is not read)."""
    inflater = zlib.decompressobj()
    try:
        for chunk in chunks:
            output = inflater.decompress(chunk, CHUNK)
            while True:
                if output:
                    yield output
                # After the end, bytes past it can stay in unconsumed_tail: asking again gives nothing.
                if inflater.eof or not inflater.unconsumed_tail or not output:
                    break
                output = inflater.decompress(inflater.unconsumed_tail, CHUNK)
            if inflater.eof:
                return
    except zlib.error:
        return  # damaged from here: what came before was unpacked


def _inflate_sniffed(chunks: Iterator[bytes], head: bytes, depth: int = 0) -> Iterator[bytes]:
    """Flate data whose filters are not known here: unpacked when it starts as zlib data, and again
    while what comes out does."""
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None or not _looks_like_zlib(bytes(first[:2])) or depth >= _MAX_NESTED_SNIFFED:
        return
    inflated = _inflate(_prepended(first, chunks), head)
    output = next(inflated, None)
    if output is None:
        return
    if _looks_like_zlib(output[:2]):
        yield from _inflate_sniffed(_prepended(output, inflated), head, depth + 1)
    else:
        yield output
        yield from inflated


def _prepended(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _looks_like_zlib(start: bytes) -> bool:
    return len(start) == 2 and start[0] & 0x0F == 8 and (start[0] << 8 | start[1]) % 31 == 0


def _unhex(chunks: Iterator[bytes], head: bytes) -> Iterator[bytes]:
    """ASCII hex, as PDFium reads it: other characters skipped, up to ">"."""
    pending = b""
    for chunk in chunks:
        chunk = bytes(chunk)
        end = chunk.find(b">")
        digits = pending + (chunk if end < 0 else chunk[:end]).translate(None, _NOT_HEX)
        usable = len(digits) - len(digits) % 2
        yield bytes.fromhex(digits[:usable].decode("ascii"))
        pending = digits[usable:]
        if end >= 0:
            break
    if pending:
        yield bytes.fromhex((pending + b"0").decode("ascii"))


def _unbase85(chunks: Iterator[bytes], head: bytes) -> Iterator[bytes]:
    """ASCII 85, as PDFium reads it: spaces skipped, "z" for four zero bytes, up to "~" or another
    character outside the alphabet."""
    pending = b""
    for chunk in chunks:
        chunk = bytes(chunk).translate(None, _A85_SPACES)
        stop = _NOT_A85.search(chunk)
        group = pending + (chunk if stop is None else chunk[:stop.start()]).replace(b"z", b"!!!!!")
        usable = len(group) - len(group) % 5
        try:
            yield base64.a85decode(group[:usable])
        except (ValueError, binascii.Error):
            return
        pending = group[usable:]
        if stop is not None:
            break
    if len(pending) > 1:
        try:
            yield base64.a85decode(pending + b"u" * (5 - len(pending)))[:len(pending) - 1]
        except (ValueError, binascii.Error):
            return


def _unlzw(chunks: Iterator[bytes], head: bytes) -> Iterator[bytes]:
    """LZW (codes of 9 to 12 bits, /EarlyChange as the dictionary gives it, 1 unless 0)."""
    early = 0 if _EARLY_CHANGE_OFF.search(head) else 1
    table = [bytes([byte]) for byte in range(256)] + [b"", b""]
    width, buffer, bits = 9, 0, 0
    previous: bytes | None = None
    output = bytearray()
    for chunk in chunks:
        for byte in bytes(chunk):
            buffer = (buffer << 8) | byte
            bits += 8
            while bits >= width:
                bits -= width
                code = buffer >> bits
                buffer &= (1 << bits) - 1
                if code == _LZW_CLEAR:
                    del table[258:]
                    width, previous = 9, None
                    continue
                if code == _LZW_END:
                    yield bytes(output)
                    return
                if code < len(table):
                    entry = table[code]
                elif code == len(table) and previous is not None:
                    entry = previous + previous[:1]
                else:
                    yield bytes(output)  # damaged from here
                    return
                output += entry
                if previous is not None and len(table) < _LZW_MAX_CODES:
                    table.append(previous + entry[:1])
                previous = entry
                if len(table) + early >= 1 << width and width < 12:
                    width += 1
                if len(output) >= CHUNK:
                    yield bytes(output)
                    output.clear()
    yield bytes(output)


def _unrunlength(chunks: Iterator[bytes], head: bytes) -> Iterator[bytes]:
    """Run-length data: a length byte, then that many bytes plus one (below 128) or one byte
    repeated 257 minus it times (above 128); 128 ends it."""
    pending = b""
    output = bytearray()
    for chunk in chunks:
        data = pending + bytes(chunk)
        position = 0
        while position < len(data):
            length = data[position]
            if length == 128:
                yield bytes(output)
                return
            if length < 128:
                if position + length + 2 > len(data):
                    break
                output += data[position + 1:position + length + 2]
                position += length + 2
            else:
                if position + 2 > len(data):
                    break
                output += data[position + 1:position + 2] * (257 - length)
                position += 2
            if len(output) >= CHUNK:
                yield bytes(output)
                output.clear()
        pending = data[position:]
    yield bytes(output)


_DECODERS: dict[bytes, Callable[[Iterator[bytes], bytes], Iterator[bytes]]] = {
    b"FlateDecode": _inflate, b"LZWDecode": _unlzw, b"RunLengthDecode": _unrunlength,
    b"ASCIIHexDecode": _unhex, b"ASCII85Decode": _unbase85, b"?": _inflate_sniffed,
}
