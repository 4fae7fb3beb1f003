"""The one CSV reader and writer, and the one decoder: what a spreadsheet saves, read back exactly."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pandas as pd
import pytest
from conftest import invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from coder.errors import OutputError
from coder.files import DecodeError, decode_text, read_own_bytes, read_table, write_csv


@pytest.mark.parametrize("frame", [pd.DataFrame({"code": ["barrier", "区域"], "hits": [2, 1]})])
def test_files_write_csv_bom_and_crlf(tmp_path: Path, frame):
    write_csv(frame, tmp_path / "table.csv")
    assert (tmp_path / "table.csv").read_bytes() == "\ufeffcode,hits\r\nbarrier,2\r\n区域,1\r\n".encode()


@pytest.mark.parametrize(("data", "expected"), [
    ("\ufeffcode,note\r\nbarrier,ok\r\n".encode(), "ok"),  # Excel "CSV UTF-8"
    ("code;note\r\nbarrier;café\r\n".encode("cp1252"), "café"),  # Excel "CSV" in a European locale
    ("code\tnote\r\nbarrier\t区域合作\r\n".encode("utf-16"), "区域合作"),  # "Unicode text"
    ("code,note\nbarrier,区域合作\n".encode("gb18030"), "区域合作"),  # WPS on a Chinese system
])
def test_files_read_table_what_spreadsheets_save(tmp_path: Path, data: bytes, expected: str):
    path = tmp_path / "table.csv"
    path.write_bytes(data)
    assert read_table(path).to_dict("records") == [{"code": "barrier", "note": expected}]


@pytest.mark.parametrize(("encoding", "document", "region"), [
    ("cp950", "報告.txt", "臺灣"),  # Excel's "CSV (Comma delimited)" on a Traditional-Chinese Windows (probe AN5)
    ("cp950", "a.txt", "香港"),
    ("gbk", "a.txt", "长三角区域"),
])
def test_files_read_table_reads_chinese_code_pages(tmp_path: Path, encoding: str, document: str, region: str):
    from coder.files import table_encoding

    path = tmp_path / "documents.csv"
    path.write_bytes(f"document,地區\r\n{document},{region}\r\nb.txt,東京\r\n".encode(encoding))
    table = read_table(path, chinese_code_pages=True)
    assert table.to_dict("records") == [{"document": document, "地區": region}, {"document": "b.txt", "地區": "東京"}]
    assert table_encoding(table) in (encoding, "gb18030")


def test_files_read_table_reads_a_review_sheet_in_big5_as_before(tmp_path: Path):
    """Review, gold and sample sheets keep 637fd19's reading: their safeguards for characters a code page lost
    know Windows-1252 and Mac Roman only, and a Big5 save's "?" overwrote notes kept from an earlier round
    (probe AX4). Only documents.csv asks for Big5 and GBK."""
    from coder.files import table_encoding

    path = tmp_path / "segments.csv"
    path.write_bytes("segment_id,note\r\ns1,臺灣\r\n".encode("cp950"))
    assert table_encoding(read_table(path)) == "cp1252"


@pytest.mark.parametrize(("data", "expected"), [
    # Big5 reads ´ or an accent and the next byte as a rare ideograph (it愀 late, Gen鋦e愀, H幨鋝e愀), Mac
    # Roman's ¿ and ’ in cp1252 as common ones, but alone among letters (鬨ncluir, don掐): read as before (probe AQ1)
    ("document,note\na.txt,it´s late\n".encode("cp1252"), [["a.txt", "it´s late"]]),
    ("document,passage,code\nGenève´s.txt,3,coop\n".encode("cp1252"), [["Genève´s.txt", "3", "coop"]]),
    ("document,note\nd.txt,Hélène´s\n".encode("cp1252"), [["d.txt", "Hélène´s"]]),
    ("name\nçà\n®\n€\né\n".encode("cp1252"), [["çà"], ["®"], ["€"], ["é"]]),
    ("document,code\n¿incluir?.txt,coop\ndon’t.txt,coop\n".encode("mac_roman"),
     [["Àincluir?.txt", "coop"], ["donÕt.txt", "coop"]]),
])
def test_files_read_table_windows_1252_read_as_before_where_big5_decodes_it(tmp_path: Path, data: bytes, expected):
    from coder.files import table_encoding

    path = tmp_path / "table.csv"
    path.write_bytes(data)
    table = read_table(path)
    assert (table_encoding(table), table.values.tolist()) == ("cp1252", expected)


@pytest.mark.parametrize(("data", "message"), [
    (None, "file not found."),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "cannot decode: binary data (NUL bytes without a UTF-16 byte order mark). "
                                   "Save it as CSV UTF-8 and try again."),
    (b"", "the file is empty. Pass a table with a header row."),
    (b"\r\n \n", "the file is empty. Pass a table with a header row."),
    # one cell more on the first row: pandas made the first column row names and shifted the values
    # left, so a gold file's `passage` read 'joint_meeting'
    (b"document,passage,code\na.txt,3,joint_meeting,extra\n",
     "row 2 has more cells than the header row (an extra comma?). Make it match the header, then try again."),
])
def test_files_read_table_errors_name_the_file(tmp_path: Path, data, message):
    path = tmp_path / "table.csv"
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(OutputError) as error:
        read_table(path)
    assert str(error.value) == f"{path}: {message}"


@pytest.mark.parametrize(("data", "fallback", "expected"), [
    ("café".encode("cp1252"), "cp1252", ("café", "cp1252")),
    ("a\r\nb".encode("utf-16"), None, ("a\nb", "utf-16")),
])
def test_files_decode_text(data: bytes, fallback, expected):
    assert decode_text(data, fallback=fallback) == expected


@pytest.mark.parametrize(("data", "expected"), [
    ("高興\t1\n快樂*\t1\n".encode("cp950"), ("高興\t1\n快樂*\t1\n", "cp950")),  # GB18030 read it 蔼砍, е贾 (probe AN4)
    ("长三角区域\t1\n".encode("gbk"), ("长三角区域\t1\n", "gb18030")),
    ("it´s\t1\nO´Neill\t1\n".encode("cp1252"), ("it´s\t1\nO´Neill\t1\n", "cp1252")),  # not it愀s (probe AQ4)
    # probe AS1, AS5: not GBK Bosn韆 og Herseg髒韓a (traditional forms of GBK's extension), nor Big5 YL烷麗VI
    ("Bosnía og Hersegóvína\t1\n".encode("cp1252"), ("Bosnía og Hersegóvína\t1\n", "cp1252")),
    ("YLÖJÄRVI\t1\n".encode("cp1252"), ("YLÖJÄRVI\t1\n", "cp1252")),
    # probe AV3: an accent at a word's end or start, a letter on one side only: not Big5 HYVINK闡 YL烷麗VI
    ("HYVINKÄÄ YLÖJÄRVI\t1\n".encode("cp1252"), ("HYVINKÄÄ YLÖJÄRVI\t1\n", "cp1252")),
    ("YLÖJÄRVI, ÄÄNEKOSKI\t1\n".encode("cp1252"), ("YLÖJÄRVI, ÄÄNEKOSKI\t1\n", "cp1252")),
    ("Færøyene\t1\rSØRØST-ASIA\t2\r".encode("cp1252"), ("Færøyene\t1\nSØRØST-ASIA\t2\n", "cp1252")),  # AS6
    ("서울 인천\t1\n".encode("euc_kr"), ("서울 인천\t1\n".encode("euc_kr").decode("cp1252"), "cp1252")),  # AS4
    ("高雄\t1\n".encode("cp950"), ("高雄\t1\n", "cp950")),  # two Hangul in EUC-KR (값땡), yet Big5
    # probes BC2, BC5: symbols Big5 holds beside Chinese, not a reason to read it as Windows-1252
    ("臺北氣溫25°C聯席會議\t1\n".encode("cp950"), ("臺北氣溫25°C聯席會議\t1\n", "cp950")),
    ("長寬25×30公分\t€50 研究員\n".encode("cp950"), ("長寬25×30公分\t€50 研究員\n", "cp950")),
    ("①聯席會議→區域 ±5 ℃\t1\n".encode("cp950"), ("①聯席會議→區域 ±5 ℃\t1\n", "cp950")),
    ("¢X¡Ñ ÅÄÖÜ\t1\n".encode("cp1252"), ("¢X¡Ñ ÅÄÖÜ\t1\n", "cp1252")),  # Big5 reads °× 鼴笚: rare ones
    ("ŁUKASZ Łódź\t1\n".encode("cp1250"), ("ŁUKASZ Łódź\t1\n".encode("cp1250").decode("cp1252"), "cp1252")),
    # probe BD4: read as GBK, Big5's 育 is ▅ (a block element): box drawing no sign of a GBK sheet
    ("document,region\na.txt,机警\nb.txt,教育\n".encode("cp950"), ("document,region\na.txt,机警\nb.txt,教育\n", "cp950")),
])
def test_files_decode_text_chinese_code_pages(data: bytes, expected):
    assert decode_text(data, fallback="cp1252", chinese_code_pages=True) == expected


def test_files_decode_text_reads_gbk_once_when_only_big5_could_change_it(monkeypatch):
    """A GBK file GB18030 reads as Chinese stays GB18030's unless Big5 reads it as Chinese: the Big5 and GBK
    readings were computed for it all the same, and a GBK documents.csv cost 2.3 times a Windows-1252 one's CPU
    (probe AT4)."""
    import coder.files

    def not_needed(data: bytes):
        raise AssertionError("chinese_code_page_reading computed for a file only Big5 could read otherwise")

    monkeypatch.setattr(coder.files, "chinese_code_page_reading", not_needed)
    data = "document,地区\r\na.txt,长三角区域\r\nb.txt,广东\r\n".encode("gbk")
    assert decode_text(data, chinese_code_pages=True) == ("document,地区\na.txt,长三角区域\nb.txt,广东\n", "gb18030")


@pytest.mark.parametrize(("text", "encoding", "expected"), [
    # Japanese in EUC-JP: GB2312 holds its kana where EUC-JP does, so GB18030 read 東京都と神奈川県 as
    # 澎叠旁と坷凄李俯 (probe AZ1); refused, the legacy code pages read it
    ("東京都と神奈川県は、広域連携に関する協定を締結しました。この協定により、交通や防災の分野での協力が進められる予定です。",
     "euc_jp", None),
    ("日本銀行は金融政策決定会合で、大規模な金融緩和策の維持を決めた。", "euc_jp", None),
    ("山田さんは毎朝コーヒーを飲みます。", "euc_jp", None),
    # Chinese with a kana in a title stays GB18030's (with more kana, a Japanese name, the legacy code pages read
    # it as GB18030: test_extract_html_page_without_a_charset_in_euc_jp_is_read_as_japanese)
    ("长三角地区建立了联席会议制度。《我の世界》是一部日本动画片。", "gb18030", "gb18030"),
    # a GBK list of rarer words with one kana word and no "，": EUC-JP reads it too, its share of common
    # ideographs a little higher (0.17 against 0.11), and the file was skipped as undecodable (probe BC1)
    ("寓言成语\n画蛇添足\n守株待兔\n亡羊补牢\n掩耳盗铃\n刻舟求剑\n杯弓蛇影\n狐假虎威\n井底之蛙\nユニクロ\n", "gbk", "gb18030"),
    # everyday words with one kana word: EUC-JP's share of common ideographs 0.58 against 0.33 (probe BD2); one
    # kana in thirteen characters is no Japanese prose
    ("阵营\n连年\n贴着\nね\n不妨\n网络游戏\n", "gbk", "gb18030"),
])
def test_files_decode_text_leaves_japanese_to_the_legacy_code_pages(text: str, encoding: str, expected):
    data = text.encode(encoding)
    if expected is None:
        with pytest.raises(DecodeError):
            decode_text(data)
    else:
        assert decode_text(data) == (text, expected)


@pytest.mark.parametrize(("value", "encoding"), [
    ("Færøyene", "mac_roman"),  # Excel for Mac's CR line ends: not Big5 F駕篡ene (probe AS6)
    ("Héréro", "mac_roman"),
])
def test_files_read_table_keeps_mac_roman_from_chinese(tmp_path: Path, value: str, encoding: str):
    from coder.files import table_encoding

    path = tmp_path / "documents.csv"
    path.write_bytes(f"document,place\ra.txt,{value}\rb.txt,Oslo\r".encode(encoding))
    table = read_table(path)
    assert (table["place"].tolist(), table_encoding(table)) == ([value, "Oslo"], encoding)


@pytest.mark.parametrize("data", ["café".encode("cp1252")])
def test_files_decode_text_without_fallback_refuses_latin(data: bytes):
    with pytest.raises(DecodeError):
        decode_text(data)


@pytest.mark.parametrize("gold", [b"document,passage,code\n\x00\x01"])
def test_files_cli_unreadable_table_is_one_error_line(tmp_path: Path, monkeypatch, gold: bytes):
    monkeypatch.chdir(tmp_path)
    Path("gold.csv").write_bytes(gold)
    Path("segments.csv").write_text("segment_id,document,passage,code\n", encoding="utf-8")  # a missing one is named first
    result = invoke("agree", "gold.csv", "--segments", "segments.csv")
    assert result.exit_code == 1
    assert result.output == (
        "Error: gold.csv: cannot decode: binary data (NUL bytes without a UTF-16 byte order mark). "
        "Save it as CSV UTF-8 and try again.\n"
    )



@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("'=+-@\t\rab ,\"\n"), max_size=8), min_size=1, max_size=5))
def test_files_formula_neutralizing_round_trips_exactly(tmp_path_factory, cells):
    from coder.files import read_table, write_csv

    path = tmp_path_factory.mktemp("formulas") / "table.csv"
    frame = pd.DataFrame({"text": cells, "number": range(len(cells))})
    write_csv(frame, path)
    again = read_table(path)
    # Exactly what was written; only line ends become LF, as everywhere the tool reads text.
    assert again["text"].tolist() == [cell.replace("\r\n", "\n").replace("\r", "\n") for cell in cells]
    import csv
    import io

    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    assert not any(row[0].startswith(("=", "+", "-", "@", "\t", "\r", "\n")) for row in rows[1:])


_CELL = st.one_of(st.none(), st.text(alphabet=st.sampled_from("ab ,\"\n\r;'=区\t"), max_size=6))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL, st.integers(-10**12, 10**12),
                          st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.1, 1e16, 1e-5, -0.0]),
                          st.booleans()), min_size=1, max_size=12),
       st.sampled_from(["object", "str", "category"]), st.sampled_from(["\r\n", "\n"]),
       st.sampled_from([None, "%.10g", "%.3f"]))
def test_files_write_csv_bytes_are_pandas_own(tmp_path_factory, rows, kind, line_end, float_format):
    """The writer that joins rows in Arrow writes exactly what pandas' to_csv writes (quotes, blanks,
    numbers, line ends)."""
    import io

    from coder.files import neutralize_formulas

    frame = pd.DataFrame(rows, columns=["text", "code", "count", "share", "drawn"])
    frame["text"] = frame["text"].astype(object if kind == "object" else kind)
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    write_csv(frame, path, line_end=line_end, float_format=float_format)
    expected = io.StringIO()
    neutralize_formulas(frame).to_csv(expected, index=False, lineterminator=line_end, float_format=float_format)
    assert path.read_bytes() == ("\ufeff" + expected.getvalue()).encode()



_FLOAT = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 0.1, 1e16, 1e-5, 0.1234565])


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.lists(st.lists(_FLOAT, min_size=5, max_size=5), min_size=1, max_size=10),
       st.sampled_from([None, "%.10g", "%.3f"]))
def test_files_write_csv_runs_of_float_columns_are_pandas_own(tmp_path_factory, width, rows, float_format):
    """Float columns side by side (a co-occurrence matrix) are written as one block, each distinct value
    formatted once: the bytes pandas' to_csv writes, 0.0 and -0.0 apart."""
    import io

    frame = pd.DataFrame({"code": [f"c{number}" for number in range(len(rows))]})
    for column in range(width):
        frame[f"f{column}"] = [row[column] for row in rows]
    frame["count"] = range(len(rows))
    frame["share"] = [row[4] for row in rows]
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    write_csv(frame, path, float_format=float_format)
    expected = io.StringIO()
    frame.to_csv(expected, index=False, lineterminator="\r\n", float_format=float_format)
    assert path.read_bytes() == ("\ufeff" + expected.getvalue()).encode()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux states the umask in /proc")
@pytest.mark.parametrize("umask", [0o022, 0o027], ids=["022", "027"])
def test_files_atomic_writes_follow_the_umask_without_setting_it(tmp_path: Path, monkeypatch, umask: int):
    """A run writes files in two threads: a write that set the umask to read it (and set it back) would
    give a file the other thread creates meanwhile the umask 0."""
    import os
    import stat

    from coder import files

    def set_umask(mask):
        raise AssertionError("the umask was set")

    previous = os.umask(umask)
    try:
        monkeypatch.setattr(files.os, "umask", set_umask)
        files.write_text(tmp_path / "file.txt", "x")
    finally:
        monkeypatch.undo()
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "file.txt").stat().st_mode) == 0o666 & ~umask


def test_files_atomic_writes_without_proc_use_the_umask_read_at_import(tmp_path: Path, monkeypatch):
    """macOS and Windows have no /proc: the umask read as the module was imported, never set again
    while a run's threads write."""
    import builtins
    import os
    import stat

    from coder import files

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise FileNotFoundError(path)
        return builtins.open(path, *args, **kwargs)

    def set_umask(mask):
        raise AssertionError("the umask was set")

    monkeypatch.setattr(files, "open", no_proc, raising=False)
    monkeypatch.setattr(files, "_UMASK_AT_IMPORT", 0o027)
    monkeypatch.setattr(files.os, "umask", set_umask)
    files.write_text(tmp_path / "file.txt", "x")
    monkeypatch.undo()
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / "file.txt").stat().st_mode) == 0o640
    assert (tmp_path / "file.txt").read_text(encoding="utf-8") == "x"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_files_read_own_bytes_reads_only_a_regular_file_itself(tmp_path: Path):
    own = tmp_path / "own.json"
    own.write_bytes(b"{}")
    (tmp_path / "link.json").symlink_to(own)
    os.mkfifo(tmp_path / "pipe.json")
    assert read_own_bytes(own) == b"{}"
    for planted in (tmp_path / "link.json", tmp_path / "pipe.json", Path("/dev/zero"), tmp_path):
        with pytest.raises(OSError):
            read_own_bytes(planted)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("name", ["presented.json", "segments_written.json", "corpus_stamps.json", "cooccurrence_counts.json"])
def test_files_a_pipe_planted_in_the_run_cache_is_not_waited_on(tmp_path: Path, tiny_corpus: Path, tiny_codebook: Path, name):
    """A named pipe in place of a file the run keeps for itself blocked the next run forever (opened to read)."""
    out = tmp_path / "out"
    assert invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out).exit_code == 0
    planted = out / ".cache" / name
    planted.unlink(missing_ok=True)
    os.mkfifo(planted)
    text = tiny_codebook.read_text(encoding="utf-8")
    label_edit = text.replace("label: Barriers", "label: Obstacles")
    for edited in (label_edit, label_edit.replace("keywords: [barrier*]", "keywords: [barrier*, cooperation]")):
        tiny_codebook.write_text(edited, encoding="utf-8")
        results: list = []
        runner = threading.Thread(target=lambda: results.append(
            invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out)), daemon=True)
        runner.start()
        runner.join(30)
        waited = runner.is_alive()
        if waited and stat.S_ISFIFO(os.lstat(planted).st_mode):
            with open(planted, "wb"):
                pass  # let the blocked reader go
            runner.join(10)
        assert not waited, f"the run waited on the pipe planted as {name}"
        assert results[0].exit_code == 0, results[0].output


_INTEGER = st.one_of(st.integers(0, 9), st.integers(0, 9), st.integers(-10**18, 10**18),
                     st.sampled_from([10, 99, 100, -1, -9, -10, 2**63 - 1, -2**63]))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 9), st.integers(1, 40), st.data(), st.sampled_from(["\r\n", "\n"]),
       st.sampled_from([None, "before", "after", "both"]), st.sampled_from([None, 7, 64]))
def test_files_write_csv_integer_runs_are_pandas_own(tmp_path_factory, rows, width, data, line_end, text, chunk_cells):
    """Runs of integer columns (code_counts.csv: one per document) are written as bytes made in numpy
    (`_integer_lines`): exactly what pandas' to_csv writes, for one-digit, negative, big and extreme
    values, every integer width, text columns around them and tables cut into chunks of rows."""
    import io

    import numpy as np

    from coder import files

    values = np.array(data.draw(st.lists(_INTEGER, min_size=rows * width, max_size=rows * width)), dtype=np.int64)
    frame = pd.DataFrame(values.reshape(rows, width), columns=[f"doc {column}" for column in range(width)])
    for position, dtype in enumerate(data.draw(st.lists(st.sampled_from(
            ["int8", "int16", "int32", "uint8", "uint16", "uint32", "uint64"]), max_size=min(width, 4)))):
        limits = np.iinfo(dtype)
        frame[frame.columns[position]] = frame.iloc[:, position].clip(max(limits.min, -2**63), min(limits.max, 2**63 - 1)).astype(dtype)
    if text in ("before", "both"):
        frame.insert(0, "code", [f"=code {row}" if row % 2 else "a,\"b\"" for row in range(rows)])
    if text in ("after", "both"):
        frame["label"] = [f"label\n{row}" for row in range(rows)]
    path = tmp_path_factory.mktemp("integers") / "table.csv"
    with pytest.MonkeyPatch.context() as patch:
        if chunk_cells is not None:
            patch.setattr(files, "_CSV_CHUNK_CELLS", chunk_cells)
        write_csv(frame, path, line_end=line_end)
    expected = io.StringIO()
    files.neutralize_formulas(frame).to_csv(expected, index=False, lineterminator=line_end)
    assert path.read_bytes() == ("\ufeff" + expected.getvalue()).encode()


@pytest.mark.parametrize("block", [
    [[0]], [[7, 0, 3]], [[10], [-1], [0]], [[2**63 - 1, -2**63, 0], [5, 123456789, -40]], [[0, 0], [0, 0]],
])
@pytest.mark.parametrize("end", ["", "\n", "\r\n"])
def test_files_integer_lines_are_str_joined_by_commas(block, end):
    import numpy as np

    from coder.files import _integer_lines

    lines = _integer_lines(np.array(block, dtype=np.int64), end=end)
    assert lines.to_pylist() == [",".join(str(value) for value in row) + end for row in block]
    transposed = np.asfortranarray(np.array(block, dtype=np.int64))  # as a table's columns come
    assert _integer_lines(transposed, end=end).to_pylist() == lines.to_pylist()


@pytest.mark.parametrize("parts", [[3, 1, 4]])
def test_files_write_csv_parts_are_the_table_of_the_parts(tmp_path: Path, parts):
    """write_csv_parts: one header and one byte order mark, the parts' rows in order, as write_csv of them together."""
    import numpy as np

    from coder.files import write_csv_parts

    frames = [pd.DataFrame({"code": [f"c{size}-{row}" for row in range(size)], "a": np.arange(size) * 11 - 5,
                            "b": np.arange(size) % 3}) for size in parts]
    write_csv_parts(frames, tmp_path / "parts.csv")
    write_csv(pd.concat(frames, ignore_index=True), tmp_path / "whole.csv")
    assert (tmp_path / "parts.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert (tmp_path / "parts.csv").read_bytes().count("\ufeff".encode()) == 1


def test_read_bytes_refuses_a_file_larger_than_its_limit(tmp_path):
    """A table is read whole: past the limit a regular file is refused by its size before it is read,
    and the pipe a shell passes (no size) once that much has come; up to it, every byte is read. A device
    is not read at all."""
    from coder.errors import OutputError
    from coder.files import read_bytes

    table = tmp_path / "table.csv"
    table.write_bytes(b"a,b\n" * 100)
    assert read_bytes(table, limit=400) == b"a,b\n" * 100
    with pytest.raises(OutputError, match=r"table\.csv: larger than 0 MB, more than a table can be: not read\."):
        read_bytes(table, limit=399)
    if Path("/dev/zero").exists():  # a device is refused by what it is, before a byte is read (probe S F7)
        with pytest.raises(OutputError, match=r"zero: is a device, not a regular file: not read\."):
            read_bytes("/dev/zero", limit=2**20)
    with pytest.raises(OutputError, match=r"is a folder, not a file"):
        read_bytes(tmp_path)


def test_files_csv_lines_arrow_gives_in_chunks_are_written_chunk_by_chunk(tmp_path, monkeypatch):
    """Past 2 GB of text Arrow returns a row chunk's joined lines as a chunked array (a codebook of 5,500
    codes' cooccurrence.csv), whose buffers the writer read as one array's: the run crashed. The same
    lines, split in chunks, give the same file."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from coder.files import write_csv

    frame = pd.DataFrame({"source": ["a", "b", "c", "d"], "count": [1, 2, 3, 4], "jaccard": [0.5, 0.25, 1.0, 0.125]})
    write_csv(frame, tmp_path / "whole.csv")
    joined = pc.binary_join_element_wise

    def in_chunks(*arrays):
        lines = joined(*arrays)
        return pa.chunked_array([lines.slice(0, 1), lines.slice(1)]) if isinstance(lines, pa.Array) else lines

    monkeypatch.setattr(pc, "binary_join_element_wise", in_chunks)
    write_csv(frame, tmp_path / "chunked.csv")
    assert (tmp_path / "chunked.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


@pytest.mark.parametrize(("saved", "original", "encoding", "expected"), [
    ("?????", "与主题无关", "cp1252", "与主题无关"),  # only what the code page lost
    ("?????,off topic", "与主题无关，off topic", "ascii", "与主题无关，off topic"),  # "，" saved as ","
    ("????? (see p. 4)", "与主题无关", "cp1252", "与主题无关 (see p. 4)"),  # typed beside it
    ("?????, see p. 4", "与主题无关, see p. 3", "cp1252", "与主题无关, see p. 4"),  # changed beside it
    ("??? (see p. 4)", "与主题无关", "cp1252", "与主题无关 / ??? (see p. 4)"),  # changed where characters were lost
    ("off topic?", "与主题无关", "cp1252", "off topic?"),  # typed over
    ("", "与主题无关", "cp1252", ""),  # cleared
    ("why?", "why?", "cp1252", "why?"),  # nothing lost
    ("caf? ok", "café", "ascii", "café ok"),  # a Latin letter plain ASCII lost
    # Big5 writes £ and • where it reads ￡ and ‧: they came back as ￡5 相关 and ‧ 与主题相关 (probe AZ3)
    ("￡5 相?", "£5 相关", "cp950", "£5 相关"),
    ("‧ 与主?相?", "• 与主题相关", "cp950", "• 与主题相关"),
])
def test_files_with_lost_characters_restored(saved, original, encoding, expected):
    from coder.files import with_lost_characters_restored

    assert with_lost_characters_restored(saved, original, encoding) == expected


@pytest.mark.parametrize("line_end", ["\r", "\r\n"])
def test_files_read_table_takes_the_code_page_in_which_coders_rows_read_back(tmp_path: Path, line_end):
    """Excel for Mac saves "Comma Separated Values" in Mac Roman: read as Windows-1252, "café" was "cafŽ"."""
    from coder.files import table_encoding
    from coder.models import segment_id

    text = "The “joint meeting” at the café."
    rows = [["segment_id", "document", "code", "text", "note"],
            [segment_id("b.txt", text, "joint_meeting"), "b.txt", "joint_meeting", text, "naïve – “quoted”"]]
    path = tmp_path / "segments.csv"
    path.write_bytes(line_end.join(",".join(f'"{cell}"' for cell in row) for row in rows).encode("mac_roman"))
    table = read_table(path)
    assert (table_encoding(table), table.loc[0, "text"], table.loc[0, "note"]) == ("mac_roman", text, "naïve – “quoted”")


def _review_sheet(text: str, note: str, document: str = "a.txt") -> str:
    """segments.csv as coder wrote it, with a decision and `note` typed in, CRLF line ends as Excel saves."""
    from coder.models import segment_id

    rows = [["segment_id", "document", "code", "review", "note", "text"],
            [segment_id(document, text, "jm"), document, "jm", "reject", note, text]]
    return "\r\n".join(",".join(f'"{cell}"' for cell in row) for row in rows) + "\r\n"


@pytest.mark.parametrize(("text", "note"), [
    ("臺北召開聯席會議。", "約48°51′N相關"),
    ("臺北召開聯席會議。", "附錄B相關"),
    ("區域合作採用PPP模式。", "PPP模式"),  # in the passage text too
])
def test_files_read_table_takes_big5_with_a_letter_beside_chinese_where_coders_rows_read_back(tmp_path: Path, text, note):
    """A review sheet saved as Big5 (Excel on a Traditional-Chinese Windows) whose note glues a letter or digit to
    Chinese was read as Windows-1252 mojibake (¬ù48¢X51¡¬N¬ÛÃö): Big5 is refused beside an ASCII letter, which
    Western text gives (probe AV3). Where coder's rows read back in Big5 and not otherwise, it is Big5 (probe BD3)."""
    from coder.files import table_encoding

    path = tmp_path / "segments.csv"
    path.write_bytes(_review_sheet(text, note).encode("cp950"))
    table = read_table(path, chinese_code_pages=True)
    assert (table_encoding(table), table.loc[0, "text"], table.loc[0, "note"]) == ("cp950", text, note)


@pytest.mark.parametrize(("text", "note", "encoding"), [
    ("HYVINKÄÄ YLÖJÄRVI", "ÄÄNEKOSKI", "cp1252"),  # Big5 reads HYVINK闡 YL烷麗VI (probe AV3)
    ("The joint meeting.", "HYVINKÄÄ YLÖJÄRVI", "cp1252"),
])
def test_files_read_table_keeps_a_western_review_sheet_from_big5(tmp_path: Path, text, note, encoding):
    from coder.files import table_encoding

    path = tmp_path / "segments.csv"
    path.write_bytes(_review_sheet(text, note).encode(encoding))
    table = read_table(path, chinese_code_pages=True)
    assert (table_encoding(table), table.loc[0, "text"], table.loc[0, "note"]) == (encoding, text, note)
