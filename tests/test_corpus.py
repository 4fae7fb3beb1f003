import codecs
import os
from pathlib import Path

import pytest
from conftest import require_posix_files

from coder.corpus import (
    Corpus,
    SkippedFile,
    decode_bytes,
    iter_corpus_files,
    listed_files,
    read_corpus,
    read_document,
)
from coder.errors import CorpusError
from coder.models import Document

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CHINESE = "区域党建一体化驱动跨域协同治理：作用机制与实践框架。"


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        (b"Joint meeting\nsecond line", "Joint meeting\nsecond line", "utf-8"),
        (CHINESE.encode("utf-8"), CHINESE, "utf-8"),
        (codecs.BOM_UTF8 + "caf\u00e9 \u6cbb\u7406".encode("utf-8"), "caf\u00e9 \u6cbb\u7406", "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "a\r\n\u6cbb\u7406".encode("utf-16-le"), "a\n\u6cbb\u7406", "utf-16"),
        (codecs.BOM_UTF16_BE + "a\r\n\u6cbb\u7406".encode("utf-16-be"), "a\n\u6cbb\u7406", "utf-16"),
        (CHINESE.encode("gbk"), CHINESE, "gb18030"),
        (CHINESE.encode("gb2312"), CHINESE, "gb18030"),
        ("跨域治理 joint meeting 2020\r\n".encode("gb18030"), "跨域治理 joint meeting 2020\n", "gb18030"),
        ("使用PDF文件和GDP增长".encode("gbk"), "使用PDF文件和GDP增长", "gb18030"),
        (b"one\r\ntwo\rthree\n\r\nfour", "one\ntwo\nthree\n\nfour", "utf-8"),
        # NFC is not applied: a decomposed e + combining acute stays two characters.
        ("cafe\u0301".encode("utf-8"), "cafe\u0301", "utf-8"),
        # Mostly English, saved in a Chinese Windows locale: quotes and no-break spaces only.
        ("China\u2019s \u201cthree-level\u201d model\u00a0\u00a0 \u203a Reports".encode("gb18030"),
         "China\u2019s \u201cthree-level\u201d model\u00a0\u00a0 \u203a Reports", "gb18030"),
        ("\u570b\u5bb6\u6cbb\u7406\u9ad4\u7cfb\u548c\u6cbb\u7406\u80fd\u529b\u73fe\u4ee3\u5316\u7684\u7814\u7a76\u5831\u544a".encode("gbk"),
         "\u570b\u5bb6\u6cbb\u7406\u9ad4\u7cfb\u548c\u6cbb\u7406\u80fd\u529b\u73fe\u4ee3\u5316\u7684\u7814\u7a76\u5831\u544a", "gb18030"),
    ],
    ids=["utf8", "utf8-chinese", "utf8-bom", "utf16-le", "utf16-be", "gbk", "gb2312", "gb18030-mixed", "gbk-latin-inside", "crlf-cr", "no-nfc",
         "gb18030-english", "gbk-traditional"],
)
def test_corpus_decodes_each_encoding(data, text, encoding):
    assert decode_bytes(data) == (text, encoding)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("caf\u00e9 r\u00e9sum\u00e9 na\u00efve d\u00e9j\u00e0 vu".encode("latin-1"), "cannot decode: not UTF-8, UTF-16 or GB18030 text."),
        ("R\u00e9sum\u00e9 \u00e9l\u00e8ve".encode("latin-1"), "cannot decode: not UTF-8, UTF-16 or GB18030 text."),
        ("M\u00fcller Gr\u00fc\u00dfe \u00fcber".encode("latin-1"), "cannot decode: not UTF-8, UTF-16 or GB18030 text."),
        ("\u201cSmart quotes\u201d and caf\u00e9s".encode("cp1252"), "cannot decode: not UTF-8, UTF-16 or GB18030 text."),
        # Every accent followed by a letter: valid GBK pairs, but lone ideographs among letters.
        ("na\u00efve fa\u00e7ade K\u00f6ln Z\u00fcrich B\u00f6gen".encode("latin-1"), "cannot decode: not UTF-8, UTF-16 or GB18030 text."),
        (bytes(range(0x81, 0xFF)) * 4, "cannot decode: not UTF-8, UTF-16 or GB18030 text."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "cannot decode: binary data (NUL bytes without a UTF-16 byte order mark)."),
        ("joint".encode("utf-16-le"), "cannot decode: binary data (NUL bytes without a UTF-16 byte order mark)."),
        (b"", "empty file."),
        (b" \r\n\t\n", "empty file."),
        (codecs.BOM_UTF8, "empty file."),
        (codecs.BOM_UTF8 + b"\xff\xfe", "cannot decode: not UTF-8, UTF-16 or GB18030 text."),
    ],
    ids=["latin1", "latin1-short", "latin1-german", "cp1252", "latin1-valid-gbk-pairs", "high-bytes", "png", "utf16-no-bom", "empty", "whitespace", "bom-only", "bad-after-bom"],
)
def test_corpus_rejects_undecodable_and_empty_bytes(data, message):
    with pytest.raises(CorpusError) as error:
        decode_bytes(data)
    assert str(error.value) == message


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@pytest.mark.parametrize("extensions", [(".txt", ".md"), ("txt", "MD")])
def test_corpus_reads_nested_folders_sorted_with_slash_paths(tmp_path, extensions):
    _write(
        tmp_path,
        {
            "b.txt": b"second",
            "a/z.md": b"nested",
            "a/b/c.TXT": "\u6cbb\u7406".encode("gbk"),
            "A.txt": codecs.BOM_UTF8 + b"upper",
            ".hidden.txt": b"hidden",
            ".git/config.txt": b"hidden folder",
            "a/.cache/x.txt": b"hidden nested folder",
            "report.pdf": b"%PDF-1.4",
            "slides.pptx": b"PK",
            "notes": b"no extension",
            "latin.txt": "caf\u00e9 r\u00e9sum\u00e9".encode("latin-1"),
            "empty.md": b"",
            "blank.txt": b"\n  \n",
        },
    )
    corpus = read_corpus(tmp_path, extensions=extensions)
    assert corpus == Corpus(
        root=str(tmp_path),
        documents=(
            Document("A.txt", "upper", "utf-8-sig"),
            Document("a/b/c.TXT", "\u6cbb\u7406", "gb18030"),
            Document("a/z.md", "nested", "utf-8"),
            Document("b.txt", "second", "utf-8"),
            # Windows-1252 (here Latin-1 bytes, which read the same) is detected.
            Document("latin.txt", "caf\u00e9 r\u00e9sum\u00e9", "cp1252"),
        ),
        skipped=(
            SkippedFile("blank.txt", "empty file"),
            SkippedFile("empty.md", "empty file"),
            SkippedFile("notes", "unsupported file type (no extension)"),
            SkippedFile("report.pdf", "unsupported file type .pdf"),  # not in `extensions`
            SkippedFile("slides.pptx", "unsupported file type .pptx"),
        ),
    )
    assert len(corpus) == 5
    assert [document.path for document in corpus] == ["A.txt", "a/b/c.TXT", "a/z.md", "b.txt", "latin.txt"]


def test_corpus_a_folder_a_run_wrote_is_skipped_not_coded(tmp_path, tiny_codebook):
    """`coder run project` after `coder run project/data --out project/outputs` coded the first run's report,
    map and texts/ (a second copy of every extracted document) as documents, silently (probe AB2)."""
    from conftest import invoke

    project = tmp_path / "project"
    _write(project, {"data/a.txt": b"The joint meeting was held.\n"})
    assert invoke("run", str(project / "data"), "--codebook", str(tiny_codebook), "--out", str(project / "outputs"),
                  "--quiet").exit_code == 0
    corpus = read_corpus(project)
    assert [document.path for document in corpus] == ["data/a.txt"]
    assert corpus.skipped[0].path == "outputs/"
    assert corpus.skipped[0].reason.startswith("a folder `coder run` wrote (its run.json)")
    assert [relative for relative, _ in iter_corpus_files(project)] == ["data/a.txt"]
    result = invoke("run", str(project), "--codebook", str(tiny_codebook), "--out", str(tmp_path / "again"))
    assert result.exit_code == 0, result.output
    assert "skipped outputs/: a folder `coder run` wrote" in result.output
    with pytest.raises(CorpusError, match="holds the outputs of a `coder run`"):
        read_corpus(project / "outputs")
    (project / "data" / "~$a.docx").write_bytes(b"\x0bJane Doe" + b"\x00" * 40)  # Word's lock file (probe AB7)
    assert read_corpus(project).skipped[-1] == SkippedFile(
        "data/~$a.docx", "an Office lock file (~$: the document is open in Word or Excel), not a document")
    (project / "elsewhere").mkdir()  # a run.json of another tool is a file like any other
    (project / "elsewhere" / "run.json").write_text('{"tool": "other"}', encoding="utf-8")
    (project / "elsewhere" / "b.txt").write_text("Party building.", encoding="utf-8")
    assert [document.path for document in read_corpus(project)] == ["data/a.txt", "elsewhere/b.txt"]


@pytest.mark.parametrize("name", ["interview 1.txt", ".hidden.md"])
def test_corpus_single_file_is_named_by_its_file_name(tmp_path, name):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / name
    path.write_bytes(b"line one\r\nline two\r\n")
    corpus = read_corpus(path)
    assert corpus == Corpus(root=str(path), documents=(Document(name, "line one\nline two\n", "utf-8"),), skipped=())


@pytest.mark.parametrize(("name", "reason"), [("slides.pptx", "unsupported file type .pptx"), ("empty.txt", "empty file")])
def test_corpus_single_unusable_file_is_skipped_not_an_error(tmp_path, name, reason):
    path = tmp_path / name
    path.write_bytes(b"")
    assert read_corpus(path) == Corpus(root=str(path), documents=(), skipped=(SkippedFile(name, reason),))


@pytest.mark.parametrize(("name", "reason"), [
    ("report.txt ", "the name ends in a space ('report.txt '): rename the file 'report.txt' to have it read"),
    ("scan.PDF\u00a0", "the name ends in white space ('scan.PDF\\xa0'): rename the file 'scan.PDF' to have it read"),
    ("notes.xyz ", "unsupported file type .xyz "),
])
def test_corpus_name_ending_in_a_space_says_so(tmp_path, name, reason):
    """"report.txt " (easy to make renaming in Finder) was skipped as "unsupported file type .txt ", the
    space unseen: the message read as if .txt were not read (probe AH7)."""
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / name).write_text("governance", encoding="utf-8")
    assert read_corpus(tmp_path / "c").skipped == (SkippedFile(name, reason),)


@pytest.mark.parametrize("name", ["bundle.zip", "texts.7z", "texts.tar.gz"])
def test_corpus_an_archive_is_skipped_with_how_to_read_it(tmp_path, name):
    """A .zip in the corpus (or as the corpus) was "unsupported file type .zip", and the advice to save
    it in a format coder reads did not say to extract it (probe W11)."""
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / name).write_bytes(b"PK\x03\x04")
    reason = (f"unsupported file type {Path(name).suffix}: an archive, not opened. Extract its files into the corpus "
              f"folder (or a folder of their own, and pass that) and run again")
    assert read_corpus(tmp_path / "c").skipped == (SkippedFile(name, reason),)
    assert read_corpus(tmp_path / "c" / name).skipped == (SkippedFile(name, reason),)


@pytest.mark.parametrize("missing", ["no_such_folder", "no_such_file.txt"])
def test_corpus_missing_path_raises_corpus_error(tmp_path, missing):
    path = tmp_path / missing
    with pytest.raises(CorpusError) as error:
        read_corpus(path)
    assert str(error.value) == (
        f"{path}: no such file or folder. Pass a folder of documents (.txt, .md, .pdf, .docx, .odt, .rtf, .html) or one document file."
    )


@pytest.mark.parametrize("files", [{}, {"only.pptx": b"PK", ".hidden.txt": b"x"}])
def test_corpus_folder_without_documents_is_empty_not_an_error(tmp_path, files):
    _write(tmp_path, files)
    corpus = read_corpus(tmp_path)
    assert corpus.documents == ()
    assert corpus.skipped == tuple(SkippedFile(name, "unsupported file type .pptx") for name in files if name.endswith(".pptx"))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
@pytest.mark.parametrize("name", ["locked.txt"])
def test_corpus_unreadable_file_is_skipped(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"secret")
    path.chmod(0)
    try:
        corpus = read_corpus(tmp_path)
    finally:
        path.chmod(0o644)
    assert corpus.skipped == (SkippedFile(name, "cannot read: Permission denied"),)


@pytest.mark.parametrize("name", ["locked.txt"])
def test_corpus_unreadable_file_is_skipped_even_as_root(tmp_path, monkeypatch, name):
    (tmp_path / name).write_bytes(b"secret")
    original = Path.read_bytes

    def refuse(self):
        if self.name == name:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert read_corpus(tmp_path).skipped == (SkippedFile(name, "cannot read: Permission denied"),)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file. Save it as UTF-8 text (or remove it from the corpus)."),
        (b"\x00\x01", "cannot decode: binary data (NUL bytes without a UTF-16 byte order mark). Save it as UTF-8 text (or remove it from the corpus)."),
    ],
)
def test_corpus_read_document_raises_for_unusable_file(tmp_path, data, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(CorpusError) as error:
        read_document(path)
    assert str(error.value) == f"{path}: {message}"


@pytest.mark.parametrize(("relative_to", "expected"), [(None, "c.txt"), ("root", "a/b/c.txt")])
def test_corpus_read_document_relative_path(tmp_path, relative_to, expected):
    _write(tmp_path, {"root/a/b/c.txt": b"text"})
    base = None if relative_to is None else tmp_path / relative_to
    assert read_document(tmp_path / "root/a/b/c.txt", relative_to=base) == Document(expected, "text", "utf-8")


@pytest.mark.parametrize("folder", [SEEDS])
def test_corpus_reads_every_seed(folder):
    corpus = read_corpus(folder)
    assert [(document.path, document.encoding, len(document.text)) for document in corpus] == [
        ("drc_report_cross_regional_governance_2020.txt", "utf-8", 2158),
        ("intergovernmental_joint_meeting_thesis_2019.txt", "utf-8", 4026),
        ("party_building_alliance_guangdong_guangxi.txt", "utf-8", 3702),
        ("regional_cooperation_governance_paper.txt", "utf-8", 20218),
        ("regional_party_building_integration_yangtze_delta.txt", "utf-8", 3445),
    ]
    assert corpus.skipped == ()


@pytest.mark.parametrize(
    ("extensions", "expected"),
    [(None, ["a.txt", "b.pdf", "d/f.MD"]), ((".md",), ["d/f.MD"]), (("txt", "pdf"), ["a.txt", "b.pdf"])],
)
def test_corpus_iter_files_hides_dot_names_and_filters_extensions(tmp_path, extensions, expected):
    _write(tmp_path, {"b.pdf": b"x", "a.txt": b"y", ".h/c.txt": b"z", "d/.e.md": b"w", "d/f.MD": b"v"})
    assert [relative for relative, _ in iter_corpus_files(tmp_path, extensions)] == expected


@pytest.mark.parametrize("name", ["report.pdf"])
def test_corpus_reads_extracted_formats_by_default(tmp_path, name):
    from make_documents import docx_bytes, running_header_pdf

    _write(tmp_path, {name: running_header_pdf(2), "notes.docx": docx_bytes(["A joint meeting."]), "bad.pdf": b"%PDF-1.4"})
    corpus = read_corpus(tmp_path, extraction_cache=tmp_path / ".extracted")
    assert [(document.path, document.format, len(document.pages)) for document in corpus] == [
        ("notes.docx", "docx", 0), (name, "pdf", 2),
    ]
    assert corpus.documents[1].removed[0].reason == "running header"
    assert corpus.skipped == (SkippedFile("bad.pdf", "damaged or not a PDF: PDFium cannot open it. Open it in a PDF reader and save a new copy (or print it to PDF)"),)
    assert len(list((tmp_path / ".extracted").glob("*.json"))) == 2


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        ("Привет, мир. Это пример текста на русском языке, сохранённый в старой кодировке.".encode("cp1251"), "cp1251",
         Document("a.txt", "Привет, мир. Это пример текста на русском языке, сохранённый в старой кодировке.", "cp1251")),
        ("caf\u00e9\r\n".encode("cp1252"), "latin-1", Document("a.txt", "caf\u00e9\n", "iso8859-1")),
        (codecs.BOM_UTF8 + "caf\u00e9".encode("utf-8"), "cp1252", Document("a.txt", "caf\u00e9", "utf-8-sig")),
        # codecs that decode to surrogates: a pair is its character, a lone one U+FFFD (no UTF-8 file holds it)
        (rb"\ud83d\ude00 and \ud83d", "unicode_escape", Document("a.txt", "\U0001f600 and \ufffd", "unicode-escape")),
        (b"+2D3eAA- ok", "utf-7", Document("a.txt", "\U0001f600 ok", "utf-7")),
    ],
)
def test_corpus_forced_encoding(tmp_path, data, encoding, expected):
    _write(tmp_path, {"a.txt": data})
    assert read_corpus(tmp_path, encoding=encoding).documents == (expected,)


@pytest.mark.parametrize(
    ("data", "encoding", "reason"),
    [
        ("naïve".encode("latin-1"), "utf-8", "cannot decode as utf-8: byte 2 (0xef) is not valid in it. Check the encoding, or leave out --encoding to let coder detect it"),
        (bytes(range(0x81, 0xFF)) * 4, None, "cannot decode: not UTF-8, UTF-16, GB18030 or a legacy encoding coder recognises"),
    ],
)
def test_corpus_undecodable_text_is_skipped_never_mojibake(tmp_path, data, encoding, reason):
    _write(tmp_path, {"a.txt": data})
    corpus = read_corpus(tmp_path, encoding=encoding)
    assert corpus.documents == ()
    assert corpus.skipped == (SkippedFile("a.txt", reason),)


KOREAN = "지역 간 협력 거버넌스는 중요한 연구 주제이다. 정부 간 공동 회의는 여러 지역에서 열렸다.\n"


def test_corpus_a_stray_nul_in_utf8_text_is_read_through_not_the_document(tmp_path, tiny_codebook):
    """One NUL byte in a UTF-8 file skipped the whole document as binary (probe H14a); a binary file still is.
    It is read as a zero-width space, which matching reads through: dropped, it moved every offset after it
    one character off the file (probe AB3)."""
    import pandas as pd
    from conftest import invoke

    text = "长三角建立了市长联\x00席会议制度。\n\nThe joint\x00 meeting was held.\n"
    _write(tmp_path / "c", {"a.txt": text.encode(), "b.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
                            "c.txt": codecs.BOM_UTF8 + "市长召开了联\x00席会议。\n".encode()})  # a BOM too (probe AC)
    corpus = read_corpus(tmp_path / "c")
    assert corpus.documents == (Document("a.txt", text.replace("\x00", "\u200b"), "utf-8"),
                                Document("c.txt", "市长召开了联\u200b席会议。\n", "utf-8-sig"))
    assert [skipped.path for skipped in corpus.skipped] == ["b.txt"]
    tiny_codebook.write_text("codes:\n  jm: [joint meeting, 联席会议]\n", encoding="utf-8")
    assert invoke("run", tmp_path / "c", "--codebook", tiny_codebook, "--out", tmp_path / "o", "-q").exit_code == 0
    segments = pd.read_csv(tmp_path / "o" / "segments.csv", encoding="utf-8-sig")
    assert segments["matched"].tolist() == ["联席会议", "joint meeting", "联席会议"]
    assert [text[start:end].replace("\x00", "") for start, end in zip(segments["start"][:2], segments["end"][:2])] == [
        "长三角建立了市长联席会议制度。", "The joint meeting was held."]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_corpus_utf16_without_a_byte_order_mark_is_read_in_the_byte_order_that_reads_it(tmp_path, encoding):
    """It was skipped, naming --encoding, which read every UTF-8 file of the corpus as UTF-16 too."""
    _write(tmp_path, {"a.txt": "Joint meeting of the mayors.\r\n联席会议\r\n".encode(encoding),
                      "b.txt": b"The regional cooperation of the two cities.\n"})
    assert read_corpus(tmp_path).documents == (
        Document("a.txt", "Joint meeting of the mayors.\n联席会议\n", encoding),
        Document("b.txt", "The regional cooperation of the two cities.\n", "utf-8"))


def test_corpus_a_forced_encoding_that_reads_a_file_as_no_text_skips_it(tmp_path):
    """--encoding utf-16-le read a UTF-8 file as ideographs (湉整杲癯牥...) and coded them."""
    english = "Regional cooperation and the joint meeting of the mayors of the delta.\n" * 4
    chinese = "长三角区域合作不断深化，联席会议制度逐步完善，党建联盟推动协同治理。\n" * 4
    _write(tmp_path, {"a.txt": "Joint meeting of the mayors.\n联席会议\n".encode("utf-16-le"),
                      "en.txt": english.encode(), "zh.txt": chinese.encode()})
    corpus = read_corpus(tmp_path, encoding="utf-16-le")
    assert [document.path for document in corpus.documents] == ["a.txt"]
    assert [(skipped.path, skipped.reason.split(":")[0]) for skipped in corpus.skipped] == [
        ("en.txt", "does not read as text in utf-16-le"), ("zh.txt", "does not read as text in utf-16-le")]


@pytest.mark.parametrize(("data", "text", "encoding"), [
    # UTF-8 with a smart quote or an accent typed elsewhere in Windows-1252: read as Windows-1252 was
    # whole ("coopÃ©ration", and "“regional cooperation”" as "‚Äúregional cooperation‚Äù" in Mac Icelandic)
    ("La coopération régionale, café.\n".encode() * 3 + b"L\x92enqu\xeate.\n",
     "La coopération régionale, café.\n" * 3 + "L’enquête.\n", "utf-8+cp1252"),
    ("Interviewee said “regional cooperation” matters.".encode() + b" It\x92s true.\n",
     "Interviewee said “regional cooperation” matters. It’s true.\n", "utf-8+cp1252"),
    # Windows-1252 through and through stays Windows-1252
    ("“Smart quotes” and cafés, l’enquête.\n".encode("cp1252"), "“Smart quotes” and cafés, l’enquête.\n", "cp1252"),
    # Korean (EUC-KR) was read as GB18030: real ideographs, but not Chinese
    (KOREAN.encode("euc-kr"), KOREAN, "cp949"),
    ((KOREAN * 20).encode("euc-kr"), KOREAN * 20, "cp949"),
    # ...while Chinese in GBK, traditional characters and a list of place names too, stays GB18030
    ("2023年下半年生態環境聯防聯控座談會在宿松縣召開，兩地環保部門簽訂了合作協議。\n".encode("gbk"),
     "2023年下半年生態環境聯防聯控座談會在宿松縣召開，兩地環保部門簽訂了合作協議。\n", "gb18030"),
    ("长三角 珠三角 京津冀 粤港澳 成渝 长江中游 关中平原 北部湾 哈长 呼包鄂榆\n".encode("gbk"),
     "长三角 珠三角 京津冀 粤港澳 成渝 长江中游 关中平原 北部湾 哈长 呼包鄂榆\n", "gb18030"),
    # UTF-8 with a few words of Chinese in GBK pasted in: read as GB18030 whole, the accents became ideographs
    ("The café résumé, a naïve discussion of the ".encode() + "联席会议制度".encode("gbk") + b".\n",
     "The café résumé, a naïve discussion of the 联席会议制度.\n", "utf-8+gb18030"),
    ("长三角区域合作，“联席会议”制度。\n".encode() * 3 + "党建联盟与区域协同治理。\n".encode("gbk"),
     "长三角区域合作，“联席会议”制度。\n" * 3 + "党建联盟与区域协同治理。\n", "utf-8+gb18030"),
    # ...but a GBK file stays GB18030 whole, though some of its pairs read as UTF-8
    (("区域党建联盟推动长三角一体化，联席会议制度逐步完善。" * 40 + "\n").encode("gbk"),
     "区域党建联盟推动长三角一体化，联席会议制度逐步完善。" * 40 + "\n", "gb18030"),
    # Short files, each one line: their best guess was Korean, Johab or UTF-16, Chinese, or Windows-1252
    ("黨建聯盟\n".encode("big5"), "黨建聯盟\n", "big5"),
    ("市長聯席會議\n".encode("big5"), "市長聯席會議\n", "big5"),
    ("兩岸城市論壇\n".encode("big5"), "兩岸城市論壇\n", "big5"),
    ("공동회의 개최.\n".encode("euc-kr"), "공동회의 개최.\n", "cp949"),
    ("地方自治体の広域連携と共同会議の開催について。\n".encode("euc-jp"), "地方自治体の広域連携と共同会議の開催について。\n",
     "euc_jis_2004"),
    ("Współpraca międzygminna i wspólne posiedzenie burmistrzów w Łodzi.\n".encode("cp1250"),
     "Współpraca międzygminna i wspólne posiedzenie burmistrzów w Łodzi.\n", "cp1250"),
], ids=["utf8-cp1252-accents", "utf8-cp1252-quote", "cp1252", "euc-kr-line", "euc-kr-page", "gbk-traditional", "gbk-names",
        "utf8-gbk-words", "utf8-gbk-paragraph", "gbk-with-utf8-looking-pairs", "big5-title", "big5-title-2", "big5-title-3",
        "euc-kr-short", "euc-jp", "cp1250-polish"])
def test_corpus_reads_what_legacy_files_hold_not_mojibake(tmp_path, data, text, encoding):
    _write(tmp_path, {"a.txt": data})
    assert read_corpus(tmp_path).documents == (Document("a.txt", text, encoding),)


# --- hostile names and links (issue 9) -------------------------------------------------------------


@pytest.fixture
def hostile_corpus(tmp_path: Path) -> Path:
    """A corpus with a link to a secret outside it, a pipe, and names that try to forge lines or
    reach the terminal, one of them not UTF-8."""
    require_posix_files()
    secret = tmp_path / "secret.txt"
    secret.write_text("joint meeting of the password holders\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Mayors held a joint meeting.\n", encoding="utf-8")
    (corpus / "passwd.txt").symlink_to(secret)
    (corpus / "inside.txt").symlink_to(corpus / "a.txt")  # a link within the corpus is read
    (corpus / "forged\n  skipped evil.txt: fake.txt").write_text("A joint meeting.\n", encoding="utf-8")
    (corpus / "red\x1b[31m.txt").write_text("Another joint meeting.\n", encoding="utf-8")
    with open(os.path.join(os.fsencode(corpus), b"caf\xe9.txt"), "wb") as stream:
        stream.write(b"The joint meeting in the caf\xc3\xa9.\n")
    os.mkfifo(corpus / "pipe.txt")
    return corpus


def test_corpus_links_outside_are_skipped_and_names_escaped(hostile_corpus: Path):
    corpus = read_corpus(hostile_corpus)
    assert [document.path for document in corpus.documents] == [
        "a.txt", "caf\\xe9.txt", "forged\\n  skipped evil.txt: fake.txt", "inside.txt", "red\\x1b[31m.txt",
    ]
    assert corpus.skipped == (
        SkippedFile("passwd.txt", "links outside the corpus folder (not read)"),
        SkippedFile("pipe.txt", "not a regular file (not read)"),
    )


def test_corpus_cli_run_never_reads_a_link_outside_and_prints_names_escaped(hostile_corpus: Path, tmp_path: Path):
    import zipfile

    from typer.testing import CliRunner

    from coder.cli import app

    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n  joint_meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    out = tmp_path / "out"
    cli = CliRunner()
    result = cli.invoke(app, ["run", str(hostile_corpus), "--codebook", str(codebook), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:3] == [
        "Read 5 document(s), skipped 2; 5 passage(s) (paragraph), 5 coded segment(s) in "
        + result.output.split(" in ", 1)[1].split("\n", 1)[0],
        "  skipped passwd.txt: links outside the corpus folder (not read)",
        "  skipped pipe.txt: not a regular file (not read)",
    ]
    assert "\x1b" not in result.output
    result = cli.invoke(app, ["export", "qdpx", "--segments", str(out / "segments.csv"), "--out", str(tmp_path / "p.qdpx")])
    assert result.exit_code == 0, result.output
    for path in [*out.rglob("*"), tmp_path / "p.qdpx"]:
        if path.is_file():
            assert b"password" not in path.read_bytes(), path
    with zipfile.ZipFile(tmp_path / "p.qdpx") as archive:
        assert not any(b"password" in archive.read(name) for name in archive.namelist())


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and pipes as POSIX makes them")
@pytest.mark.parametrize("through", ["folder", "link to the folder"])
def test_corpus_real_paths_resolved_once_per_folder_are_realpaths(hostile_corpus: Path, tmp_path: Path, through):
    # corpus_entries resolves each folder once; every file's real path must still be os.path.realpath's.
    from coder.corpus import _real_path

    (hostile_corpus / "sub").mkdir()
    (hostile_corpus / "sub" / "b.txt").write_text("b", encoding="utf-8")
    (hostile_corpus / "sub" / "up.txt").symlink_to("../a.txt")
    (hostile_corpus / "dangling.txt").symlink_to("nowhere.txt")
    (hostile_corpus / "folder link").symlink_to(hostile_corpus / "sub", target_is_directory=True)
    root = hostile_corpus
    if through == "link to the folder":
        root = tmp_path / "corpus link"
        root.symlink_to(hostile_corpus, target_is_directory=True)
    folders: dict[str, str] = {}
    files = [file for _, file in iter_corpus_files(root)] + [root / "folder link" / "b.txt", root / "missing.txt"]
    assert [_real_path(file, folders) for file in files] == [os.path.realpath(file) for file in files]


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and pipes as POSIX makes them")
@pytest.mark.parametrize("through", ["folder", "link to the folder", "the relative path"])
def test_corpus_entries_check_only_links_and_others_and_skip_what_a_check_of_every_file_skips(
        hostile_corpus: Path, tmp_path: Path, monkeypatch, through):
    # corpus_entries looks at a file only when its folder's entry is not a regular file (a link, a pipe):
    # every entry must be what checking every file's real path and type gives.
    from coder.corpus import (
        DEFAULT_EXTENSIONS,
        CorpusFile,
        _not_plain_file,
        corpus_entries,
        listed_files,
    )

    (hostile_corpus / "sub").mkdir()
    (hostile_corpus / "sub" / "b.txt").write_text("b", encoding="utf-8")
    (hostile_corpus / "sub" / "up.txt").symlink_to("../a.txt")
    (hostile_corpus / "sub" / "out.txt").symlink_to(tmp_path / "secret.txt")
    os.mkfifo(hostile_corpus / "sub" / "pipe.md")
    (hostile_corpus / "dangling.txt").symlink_to("nowhere.txt")
    (hostile_corpus / "folder link").symlink_to(hostile_corpus / "sub", target_is_directory=True)
    (hostile_corpus / ".hidden").mkdir()
    (hostile_corpus / ".hidden" / "c.txt").write_text("c", encoding="utf-8")
    (hostile_corpus / "notes.doc").write_text("d", encoding="utf-8")
    root = hostile_corpus
    if through == "link to the folder":
        root = tmp_path / "corpus link"
        root.symlink_to(hostile_corpus, target_is_directory=True)
    elif through == "the relative path":
        monkeypatch.chdir(tmp_path)
        root = Path("corpus")
    inside = os.path.realpath(root)
    expected = []
    for relative, file in iter_corpus_files(root):
        problem = _not_plain_file(file, inside)
        if problem is None and file.suffix.lower() not in DEFAULT_EXTENSIONS:
            problem = f"unsupported file type {file.suffix}"
        expected.append(CorpusFile(relative, file) if problem is None else SkippedFile(relative, problem))
    assert list(corpus_entries(root)) == expected
    assert [entry.path for entry in expected if isinstance(entry, SkippedFile)] == [
        "notes.doc", "passwd.txt", "pipe.txt", "sub/out.txt", "sub/pipe.md"]  # a link to nothing: reading it says why
    plain = {relative for relative, _, regular in listed_files(root) if regular}
    assert plain == {"a.txt", "caf\\xe9.txt", "forged\\n  skipped evil.txt: fake.txt", "notes.doc", "red\\x1b[31m.txt",
                     "sub/b.txt"}
    assert [(relative, str(file)) for relative, file in iter_corpus_files(root)] == [
        (relative, file) for relative, file, _ in listed_files(root)]


@pytest.mark.parametrize("name", ["a.txt", "a.TXT", "notes.md", "a.pdf", "a.tar.txt", "a.", "a", ".txt", "..txt",
                                  "a.txt.", "folder.txt/a", "folder/a.md", "folder/.txt", "a:.txt", "a b.txt"])
def test_corpus_text_file_told_from_its_path_as_path_suffix_tells_it(name):
    from coder.corpus import CorpusFile, is_text_file

    expected = Path(name).suffix.lower() in (".txt", ".md")
    assert is_text_file(os.path.join("corpus", *name.split("/"))) is expected
    assert is_text_file(name) is expected
    assert CorpusFile(name, Path("corpus", name)).is_text is expected


def test_corpus_two_files_shown_as_one_name_stop_the_run_with_a_message(tmp_path: Path):
    """A line break in one file's name is shown as the two characters `\\n`; a second file whose name holds
    those two characters would be the same document in every output: the run stops and names both."""
    from conftest import invoke

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "new\nline.txt").write_text("A joint meeting.\n", encoding="utf-8")
    (corpus / "new\\nline.txt").write_text("Another joint meeting.\n", encoding="utf-8")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n  joint_meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")

    with pytest.raises(CorpusError, match=r"^new\\nline\.txt: two files show as this name"):
        read_corpus(corpus)
    result = invoke("run", corpus, "--codebook", codebook, "--out", tmp_path / "out", "--workers", "1")
    assert result.exit_code == 1
    assert "two files show as this name ('new\\nline.txt' and 'new\\\\nline.txt')" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out" / "segments.csv").exists()


def test_folders_nested_deeper_than_pythons_recursion_limit_are_read(tmp_path):
    """A corpus with folders ~1,000 deep (a hostile zip, a folder copied into itself) stopped the run with a
    RecursionError and its traceback: the walk is a loop."""
    import sys

    from coder.corpus import read_corpus

    depth = sys.getrecursionlimit() + 100
    deep = tmp_path / "corpus"
    deep.mkdir()
    (deep / "top.txt").write_text("joint meeting at the top\n", encoding="utf-8")
    folder = deep
    for _ in range(depth):  # os.makedirs recurses too
        folder = folder / "d"
        folder.mkdir()
    (folder / "deep.txt").write_text("joint meeting deep down\n", encoding="utf-8")
    try:
        paths = [document.path for document in read_corpus(deep).documents]
        assert paths == ["d/" * depth + "deep.txt", "top.txt"] or paths == ["top.txt", "d/" * depth + "deep.txt"]
    finally:  # deepest first: shutil.rmtree (pytest's cleanup of old temporary folders) recurses too
        (folder / "deep.txt").unlink()
        while folder != deep:
            folder.rmdir()
            folder = folder.parent


def test_corpus_a_folder_whose_real_path_is_outside_is_not_walked(tmp_path: Path, monkeypatch):
    """A Windows junction (mklink /J, no admin rights needed) is no link to os.scandir, and the walk went
    through it: files outside the corpus were coded (probe R10). Here os.path.realpath says where the
    folder really is, as it does for a junction on Windows."""
    corpus = tmp_path / "corpus"
    (corpus / "notes").mkdir(parents=True)
    (corpus / "kept").mkdir()
    (corpus / "notes" / "private.txt").write_text("PRIVATE minutes of the joint meeting\n", encoding="utf-8")
    (corpus / "kept" / "a.txt").write_text("A joint meeting.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Another.\n", encoding="utf-8")
    real_realpath = os.path.realpath

    def realpath(path, *args, **kwargs):
        found = real_realpath(path, *args, **kwargs)
        return str(tmp_path / "elsewhere" / "notes") if found == str(corpus / "notes") else found

    monkeypatch.setattr(os.path, "realpath", realpath)
    assert [name for name, _, _ in listed_files(corpus)] == ["b.txt", "kept/a.txt"]


@pytest.mark.parametrize("names, shown", [
    (("r.txt", "R.txt"), "R.txt and r.txt"),
    (("sub/a.txt", "Sub/a.txt", "b.txt"), "Sub/a.txt and sub/a.txt"),
])
def test_corpus_names_differing_only_in_capitals_are_warned_of(tmp_path: Path, names: tuple[str, ...], shown: str):
    """Linux keeps "r.txt" and "R.txt" apart; Windows and macOS hold one of them, and a copy there loses the other.
    They were coded without a word (probe AH6)."""
    from conftest import invoke

    for name in names:
        (tmp_path / "corpus" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "corpus" / name).write_text("A joint meeting.\n", encoding="utf-8")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n  joint_meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    result = invoke("run", tmp_path / "corpus", "--codebook", codebook, "--out", tmp_path / "out", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert (f"Warning: 1 set(s) of documents have names that differ only in capitals or Unicode form, one file on "
            f"Windows and macOS: {shown}. Rename one of each before the folder is copied there.") in result.output
