"""What a PDF's streams unpack to (coder.extract.pdf_streams), counted before PDFium reads the file.

A PDF whose streams unpack to gigabytes made PDFium take gigabytes of memory. Each way of writing a
stream's filters that PDFium reads must be counted; a file whose streams are counted wrongly, or not
to their end, must not be refused or hang.
"""

from __future__ import annotations

import base64
import functools
import threading
import zlib

import pytest

from coder.extract import ExtractionError, extract_bytes
from coder.extract.pdf_streams import unpacked_stream_bytes

MB = 1 << 20
LIMIT = 64 * MB
TEXT = b"BT /F1 12 Tf 72 720 Td (Joint meeting of a party building alliance) Tj ET\n"


def pdf(stream: bytes, dictionary: bytes, *, extra: tuple[bytes, ...] = (), keyword: bytes = b"stream\n",
        trailer: bytes = b"") -> bytes:
    """A one-page PDF whose page contents are `stream`, written with `dictionary`'s entries
    (objects 1-5, then `extra`; `trailer`'s entries added to the trailer's)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
               b" /Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d %s >>\n" % (len(stream), dictionary) + keyword + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", *extra]
    data, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(data))
        data += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(data)
    data += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % at for at in offsets)
    return data + b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, table)


def encrypted_pdf(stream: bytes, dictionary: bytes, *, revision: int) -> bytes:
    """`pdf()` encrypted with RC4 by the standard security handler (revision 2: 40-bit keys, 3: 128-bit)
    with an empty user password, as publishers restrict copying: PDFium opens it without asking."""
    from reportlab.lib.pdfencrypt import computeO, computeU, encodePDF, encryptionkey

    document_id, permissions = b"coder-test-id-16", -3904
    owner = computeO("", "the owner's password", revision)
    key = encryptionkey("", owner, permissions, document_id, revision=revision)
    user = computeU(key, revision=revision, documentId=document_id)
    handler = b"<< /Filter /Standard /V %d /R %d /Length %d /O <%s> /U <%s> /P %d >>" % (
        revision - 1, revision, 40 if revision == 2 else 128, owner.hex().encode(), user.hex().encode(), permissions)
    return pdf(encodePDF(key, 4, 0, stream, revision=revision), dictionary, extra=(handler,),
               trailer=b"/Encrypt 6 0 R /ID [<%s> <%s>] " % (document_id.hex().encode(), document_id.hex().encode()))


@functools.cache
def spaces_flated(megabytes: int) -> bytes:
    """The page's text, then `megabytes` MB of spaces, as Flate data."""
    packer = zlib.compressobj(6)
    packed = [packer.compress(TEXT)]
    packed += [packer.compress(b" " * MB) for _ in range(megabytes)]
    return b"".join(packed) + packer.flush()


def lzw_of_one_byte_repeated(byte: int, codes: int) -> bytes:
    """LZW data (early change) of `byte` over and over: each code one byte longer than the last
    until the table is full, then the longest one `codes` more times."""
    table_size, width, bits = 258, 9, ""
    sequence = [256, byte, *range(258, 4096), *[4095] * codes, 257]
    for position, code in enumerate(sequence):
        bits += format(code, f"0{width}b")
        if code not in (256, 257) and position > 1 and table_size < 4096:
            table_size += 1
        if table_size + 1 >= 1 << width and width < 12:
            width += 1
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def lzw_decoded_size(byte_codes: int) -> int:
    return sum(range(1, 4096 - 258 + 2)) + byte_codes * (4096 - 258 + 1)


def counted(data: bytes, limit: int = LIMIT) -> int:
    """unpacked_stream_bytes in a thread, so that a count that never ends fails the test instead of hanging it."""
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(unpacked_stream_bytes(data, limit=limit)), daemon=True)
    worker.start()
    worker.join(timeout=300)
    assert result, "the count did not end"
    return result[0]


def test_a_stream_that_unpacks_past_a_megabyte_is_counted_to_its_end_and_the_page_is_read():
    """A page of 2 MB of text operations, packed into less than a megabyte: the count asked zlib for
    more after the stream's end (bytes past it stay in unconsumed_tail) and never ended."""
    operations = b"".join(b"BT /F1 12 Tf 72 %d Td (Joint meeting %d) Tj ET\n" % (100 + i % 600, i) for i in range(40_000))
    packed = zlib.compress(operations, 9)
    assert len(packed) < MB < len(operations)
    data = pdf(packed, b"/Filter /FlateDecode")
    assert counted(data) == len(operations)
    text: list[str] = []
    worker = threading.Thread(target=lambda: text.append(extract_bytes(data, ".pdf").text), daemon=True)
    worker.start()
    worker.join(timeout=300)
    assert text and "Joint meeting 39999" in text[0]


BOMB_MEGABYTES = 100


@pytest.mark.parametrize("written", [
    "plain", "escaped name", "abbreviated", "in an array", "in an object of its own",
    "in an array in an object of its own", "in an object stream (sniffed)", "Flate twice", "ASCII 85 then Flate",
    "ASCII hex then Flate", "LZW", "run-length", "a long dictionary", "a lone CR after stream",
    "a form whose resources name /ImageB", "escaped key",
])
def test_a_stream_bomb_is_counted_however_its_filters_are_written(written):
    """Every way PDFium reads a stream's filters: 100 MB from a small file, counted past the limit."""
    flated = spaces_flated(BOMB_MEGABYTES)
    stream, dictionary, extra, keyword = flated, b"/Filter /FlateDecode", (), b"stream\n"
    if written == "escaped name":
        dictionary = b"/Filter /Flate#44ecode"
    elif written == "escaped key":
        dictionary = b"/Fil#74er /FlateDecode"
    elif written == "abbreviated":
        dictionary = b"/Filter /Fl"
    elif written == "in an array":
        dictionary = b"/Filter [ /FlateDecode ]"
    elif written == "in an object of its own":
        dictionary, extra = b"/Filter 6 0 R", (b"/FlateDecode",)
    elif written == "in an array in an object of its own":
        dictionary, extra = b"/Filter [6 0 R]", (b"/FlateDecode",)
    elif written == "in an object stream (sniffed)":
        dictionary = b"/Filter 9 0 R"  # not in the file's bytes: in an object stream, say
    elif written == "Flate twice":
        stream, dictionary = zlib.compress(flated, 9), b"/Filter [/FlateDecode /FlateDecode]"
    elif written == "ASCII 85 then Flate":
        stream, dictionary = base64.a85encode(flated, wrapcol=72) + b"~>", b"/Filter [/ASCII85Decode /FlateDecode]"
    elif written == "ASCII hex then Flate":
        stream, dictionary = flated.hex().encode() + b">", b"/Filter [/AHx /FlateDecode]"
    elif written == "LZW":
        stream, dictionary = lzw_of_one_byte_repeated(32, 30_000), b"/Filter /LZWDecode"
    elif written == "run-length":
        stream, dictionary = b"\x81 " * (BOMB_MEGABYTES * MB // 128) + b"\x80", b"/Filter /RunLengthDecode"
    elif written == "a long dictionary":
        dictionary = b" " * 10_000 + b"/Filter /FlateDecode"
    elif written == "a lone CR after stream":
        keyword = b"stream\r"
    elif written == "a form whose resources name /ImageB":
        dictionary = b"/Type /XObject /Subtype /Form /Resources << /ProcSet [/PDF /ImageB] >> /Filter /FlateDecode"
    data = pdf(stream, dictionary, extra=extra, keyword=keyword)
    assert len(data) < 4 * MB
    assert counted(data) > LIMIT


def test_what_a_stream_unpacks_to_is_counted_exactly_through_each_filter():
    """Counted to the byte, below the limit: each decoder gives what the data holds, no more."""
    flated = spaces_flated(3)
    size = len(TEXT) + 3 * MB
    assert counted(pdf(flated, b"/Filter /FlateDecode")) == size
    assert counted(pdf(base64.a85encode(flated) + b"~>", b"/Filter [/A85 /Fl]")) == size
    assert counted(pdf(flated.hex().upper().encode() + b">", b"/Filter [/ASCIIHexDecode /FlateDecode]")) == size
    assert counted(pdf(zlib.compress(flated), b"/Filter [/FlateDecode /FlateDecode]")) == size
    assert counted(pdf(lzw_of_one_byte_repeated(65, 10), b"/Filter /LZW")) == lzw_decoded_size(10)
    assert counted(pdf(b"\x02abc\xfeZ\x80", b"/Filter /RL")) == 6
    assert counted(pdf(b"plain text", b"")) == 0  # not packed: nothing unpacks
    assert counted(pdf(b"\xff\xd8 jpeg bytes", b"/Filter /DCTDecode")) == 0


def test_the_pdf_references_lzw_example_decodes():
    """The PDF reference's LZW example (EarlyChange 1): 80 0B 60 50 22 0C 0C 85 01 is "-----A---B"."""
    data = pdf(bytes.fromhex("800B6050220C0C8501"), b"/Filter /LZWDecode")
    assert counted(data) == len(b"-----A---B")


def test_images_are_not_counted_but_their_name_hidden_in_an_escape_is_read():
    """PDFium does not unpack images for the text: a large image is not a bomb. /Subtype /Im#61ge is an image too."""
    image = spaces_flated(BOMB_MEGABYTES)
    for subtype in (b"/Image", b"/Im#61ge"):
        data = pdf(image, b"/Type /XObject /Subtype %s /Width 10240 /Height 10240 /BitsPerComponent 8"
                          b" /ColorSpace /DeviceGray /Filter /FlateDecode" % subtype)
        assert counted(data) == 0


def test_streams_add_up_and_the_limit_refuses_the_file():
    """Twenty streams of 40 MB each are one bomb of 800 MB."""
    one = spaces_flated(40)
    extra = tuple(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(one) + one + b"\nendstream"
                  for _ in range(19))
    data = pdf(one, b"/Filter /FlateDecode", extra=extra)
    assert counted(data, limit=512 * MB) > 512 * MB
    with pytest.raises(ExtractionError, match="unpack to more than 512 MB"):
        extract_bytes(data, ".pdf")


def test_a_file_of_stream_keywords_is_read_once():
    """Every dictionary is read from the last stream's end: a file of nothing but stream keywords is
    linear, and counts nothing."""
    data = b"%PDF-1.4\n" + b"<< /Filter /FlateDecode >> stream\nxx endstream " * 200_000
    assert counted(data) == 0


def test_a_file_of_many_objects_costs_memory_in_proportion_to_its_size():
    """The objects a /Filter may point to are indexed by position: the first bodies of 200,000 tiny
    objects were kept as 4 KB copies each (800 MB for a 4 MB file; a 22 MB one peaked at 4.3 GB)."""
    import tracemalloc

    stream = zlib.compress(TEXT)
    data = b"".join([b"%%PDF-1.4\n1 0 obj\n<< /Length %d /Filter 6 0 R >>\nstream\n" % len(stream), stream,
                     b"\nendstream\nendobj\n", *(b"%d 0 obj\n0\nendobj\n" % (number + 7) for number in range(200_000)),
                     b"6 0 obj\n/FlateDecode\nendobj\n"])
    tracemalloc.start()
    try:
        assert unpacked_stream_bytes(data, limit=LIMIT) == len(TEXT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * len(data)


@pytest.mark.parametrize("revision", [2, 3])
def test_an_encrypted_pdfs_streams_are_counted_in_its_decrypted_copy(revision):
    """An encrypted file's streams are ciphertext, which the count cannot unpack: a 4 KB PDF with an
    empty user password whose page unpacked to 600 MB took PDFium 2.6 GB of memory (AES-256 too). They
    are counted in the copy PDFium saves without the encryption; the same page, small, is read."""
    bomb = encrypted_pdf(zlib.compress(spaces_flated(600), 9), b"/Filter [/FlateDecode /FlateDecode]", revision=revision)
    assert len(bomb) < 10_000 and counted(bomb) == 0  # ciphertext: nothing unpacks before PDFium decrypts it
    with pytest.raises(ExtractionError, match="unpack to more than 512 MB"):
        extract_bytes(bomb, ".pdf")
    page = encrypted_pdf(zlib.compress(TEXT), b"/Filter /FlateDecode", revision=revision)
    assert extract_bytes(page, ".pdf").text == "Joint meeting of a party building alliance"
