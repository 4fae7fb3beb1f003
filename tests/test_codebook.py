"""Loading and validating codebooks: every bad input gets a message naming the file, line and code."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from coder import CodebookError, dump_codebook, load_codebook, parse_codebook

GOOD = """\
name: Cross-regional governance
unit: sentence
codes:
  joint_meeting:
    label: Joint meetings
    description: Standing intergovernmental meetings.
    color: "#1F77B4"
    keywords: [joint meeting, 联席会议]
    regex: ['joint[- ]conferences?']
    exclude: [joint meeting room]
    codes:
      mayors:
        keywords: [mayors' joint meeting]
  barriers: [administrative barrier*, local protection]
  grouping:
    label: Manual only
"""


def test_codebook_parses_hierarchy_defaults_and_bare_lists():
    codebook = parse_codebook(GOOD, source="cb.yaml")
    assert [code.id for code in codebook] == ["joint_meeting", "mayors", "barriers", "grouping"]
    assert codebook.name == "Cross-regional governance"
    assert codebook.unit == "sentence"
    assert codebook["mayors"].path == ("joint_meeting", "mayors")
    assert codebook["mayors"].code_path == "joint_meeting/mayors"
    assert codebook["mayors"].label == "mayors"
    assert codebook["joint_meeting"].color == "#1f77b4"
    assert codebook["barriers"].keywords == ("administrative barrier*", "local protection")
    assert codebook["grouping"].is_grouping
    assert codebook["joint_meeting"].line == 4
    assert codebook.ancestor("mayors", 1) == "joint_meeting"
    assert [code.id for code in codebook.children(None)] == ["joint_meeting", "barriers", "grouping"]


@pytest.mark.parametrize(("text", "message"), [
    ("codes:\n  a:\n    keyword: [x]\n",
     "cb.yaml:3: code 'a': unknown key 'keyword'. Did you mean 'keywords'?"),
    ("codes:\n  a: [x]\n  b:\n    codes:\n      a: [y]\n",
     "cb.yaml:5: code 'a': duplicate code id (first defined on line 2). Code ids must be unique across the codebook."),
    ("codes:\n  a:\n    keywords: joint meeting\n",
     "cb.yaml:3: code 'a': `keywords` must be a list. Wrap it in brackets, for example `keywords: [joint meeting]`."),
    ("codes:\n  a:\n    regex: ['joint(']\n",
     "cb.yaml:3: code 'a': invalid regex 'joint(': missing ), unterminated subpattern at position 5."),
    ("codes:\n  a: [x]\n b: [y]\n",
     "cb.yaml:3: YAML syntax error: this line's indentation does not line up with the lines above it (expected <block end>, but found '<block mapping start>'). It starts on line 1 (while parsing a block mapping)."),
    ("codes:\n  a: [x\n",
     "cb.yaml:3: YAML syntax error: a `[` list is not closed with `]` (expected ',' or ']', but got '<stream end>'). "
     "It starts on line 2 (while parsing a flow sequence)."),
    ("codes:\n  a: [x]\nunits: paragraph\n",
     "cb.yaml:3: codebook: unknown key 'units'. Did you mean 'unit'?"),
    ("unit: page\ncodes:\n  a: [x]\n",
     "cb.yaml:1: unit 'page' is not one of paragraph, sentence, document."),
    ("name: x\n", "cb.yaml:1: no `codes:` key. List the codebook's codes under `codes:`."),
    ("", "cb.yaml: the codebook is empty. Add a `codes:` mapping."),
    ("codes:\n  a:\n    color: red\n",
     "cb.yaml:3: code 'a': color 'red' is not a hex colour like \"#1f77b4\" (quote it: # starts a YAML comment)."),
    ("codes:\n  a: [go*vern]\n",
     "cb.yaml:2: code 'a': keyword 'go*vern': `*` is only allowed at the end of a word, as in 'govern*'."),
    ("codes:\n  a:\n    keywords: [x, '']\n",
     "cb.yaml:3: code 'a': every entry of `keywords` must be a non-empty text."),
    ("codes:\n  a:\n    label: A\n    label: B\n",
     "cb.yaml:4: code 'a': key 'label' appears twice."),
    ("codes:\n  a/b: [x]\n",
     "cb.yaml:2: code 'a/b': '/' is not allowed in a code id (it separates code paths)."),
])
def test_codebook_bad_input_names_file_line_and_code(text, message):
    with pytest.raises(CodebookError) as error:
        parse_codebook(text, source="cb.yaml")
    assert str(error.value) == message


def test_codebook_top_level_notes_are_text():
    """`language` (a name or a list of names) and `description` are notes for people; a mapping there
    is a misplaced block and is reported, not ignored."""
    assert parse_codebook("language: [en, zh]\ndescription: Regional governance\ncodes:\n  a: [x]\n").codes
    assert parse_codebook("language: zh\ncodes:\n  a: [x]\n").codes
    with pytest.raises(CodebookError) as error:
        parse_codebook("language:\n  a: [meeting]\ndescription: [a, b]\ncodes:\n  c: [x]\n", source="cb.yaml")
    assert sorted(error.value.problems) == [
        "cb.yaml:2: codebook: `language` must be a single value, not a list or mapping.",
        "cb.yaml:3: codebook: `description` must be a single value, not a list or mapping."]


def test_codebook_reports_every_problem_at_once():
    with pytest.raises(CodebookError) as error:
        parse_codebook("codes:\n  a:\n    keyword: [x]\n  b:\n    regex: ['(']\n", source="cb.yaml")
    assert len(error.value.problems) == 2


def test_codebook_problem_reached_through_aliases_is_reported_once():
    """An anchor repeated by aliases (a billion-laughs codebook) gives each problem once, and a long list is cut."""
    anchors = "".join(f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}' if level else '[x]'] * 9)}]\n"
                      for level in range(6))
    with pytest.raises(CodebookError) as error:
        parse_codebook(f"x:\n{anchors}codes:\n  c:\n    keywords: *a5\n", source="cb.yaml")
    assert error.value.problems == [
        "cb.yaml:1: codebook: unknown key 'x'. Allowed keys: name, description, unit, language, code_kinds, "
        "skip_kinds, morphology, codes.",
        "cb.yaml:6: code 'c': every entry of `keywords` must be a non-empty text."]
    many = "codes:\n" + "".join(f"  c{number}:\n    keyword: [x]\n" for number in range(60))
    with pytest.raises(CodebookError) as error:
        parse_codebook(many, source="cb.yaml")
    lines = str(error.value).splitlines()
    assert (len(error.value.problems), len(lines), lines[-1]) == (60, 51, "... and 10 more problems.")


@pytest.mark.parametrize("name", ["missing.yaml"])
def test_codebook_missing_file(tmp_path: Path, name):
    with pytest.raises(CodebookError) as error:
        load_codebook(tmp_path / name)
    assert str(error.value) == f"{tmp_path / name}: codebook not found. Pass an existing file with --codebook."


def test_codebook_larger_than_a_codebook_can_be_is_not_read(tmp_path: Path, monkeypatch):
    """A codebook is read up to MAX_CODEBOOK_BYTES and refused past it, so a device or a pipe that never
    ends (--codebook /dev/zero read until memory ran out) is one error line."""
    from coder import codebook

    monkeypatch.setattr(codebook, "MAX_CODEBOOK_BYTES", 1000)
    path = tmp_path / "cb.yaml"
    path.write_text("codes:\n" + "".join(f"  c{number}: [word {number}]\n" for number in range(100)), encoding="utf-8")
    with pytest.raises(CodebookError, match=r"cb\.yaml: larger than 0 MB, more than a codebook can be: not read\."):
        load_codebook(path)
    if Path("/dev/zero").exists():  # a device is refused by what it is, before a byte is read
        with pytest.raises(CodebookError, match=r"^/dev/zero: is a device, not a regular file: not read\."):
            load_codebook("/dev/zero")
    monkeypatch.setattr(codebook, "MAX_CODEBOOK_BYTES", 10_000)
    assert len(load_codebook(path)) == 100


def test_codebook_reads_utf8_with_bom(tmp_path: Path):
    path = tmp_path / "cb.yaml"
    path.write_bytes("\ufeffcodes:\n  a: [联席会议]\n".encode("utf-8"))
    assert load_codebook(path)["a"].keywords == ("联席会议",)


def test_codebook_dump_round_trips(tmp_path: Path):
    codebook = parse_codebook(GOOD)
    again = parse_codebook(dump_codebook(codebook))
    assert [(c.id, c.path, c.label, c.description, c.color, c.keywords, c.regex, c.exclude) for c in again] == [
        (c.id, c.path, c.label, c.description, c.color, c.keywords, c.regex, c.exclude) for c in codebook
    ]


def test_codebook_bundled_default_is_valid():
    codebook = load_codebook(Path(__file__).resolve().parents[1] / "codebook.yaml")
    top = [code.id for code in codebook.children(None)]
    assert top == ["party_building_alliance", "joint_meeting", "collaborative_governance", "barriers", "recommendations"]
    assert all(code.description for code in codebook)


@pytest.mark.parametrize("code_id", ["admin"])
def test_codebook_records_round_trip(code_id):
    from coder.codebook import codebook_from_records, codebook_to_records

    codebook = parse_codebook(
        "codes:\n  barriers:\n    codes:\n      admin:\n        label: Administrative\n        color: '#ff0000'\n"
        "        keywords: [red tape]\n        exclude: [red tape measure]\n"
    )
    records = codebook_to_records(codebook)
    assert records[1] == {
        "id": code_id, "label": "Administrative", "path": ["barriers", code_id], "description": "",
        "color": "#ff0000", "keywords": ["red tape"], "regex": [], "exclude": ["red tape measure"],
    }
    assert codebook_to_records(codebook_from_records(records)) == records


@pytest.mark.parametrize("record, expected", [
    ({"id": "a"}, {"id": "a", "label": "a", "path": ["a"], "description": "", "color": None,
                   "keywords": [], "regex": [], "exclude": []}),
    ({"id": "b", "path": "top/b", "keywords": ["x"]}, {"id": "b", "label": "b", "path": ["top", "b"], "description": "",
                                                        "color": None, "keywords": ["x"], "regex": [], "exclude": []}),
])
def test_codebook_normalize_code_record_fills_defaults(record, expected):
    from coder.codebook import normalize_code_record

    assert normalize_code_record(record) == expected


@pytest.mark.parametrize(
    "name, slug",
    [("Administrative barrier", "administrative_barrier"), ("行政 壁垒", "行政_壁垒"), ("  --!!", "code"), ("A/B test", "a_b_test")],
)
def test_codebook_slugify(name, slug):
    from coder.codebook import slugify

    assert slugify(name) == slug


@pytest.mark.parametrize("depth", [500])
def test_codebook_cli_nested_too_deep_is_an_error_with_the_line(tmp_path, tiny_corpus, depth):
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n" + "".join(
        "  " * (level + 1) + f"c{level}:\n" + "  " * (level + 2) + "codes:\n" for level in range(depth)), encoding="utf-8")
    result = invoke("run", tiny_corpus, "--codebook", codebook, "--out", tmp_path / "out")
    assert (result.exit_code, result.output) == (
        1, f"Error: {codebook}:199: nested more than 100 levels deep. Flatten the hierarchy to fewer levels.\n")
    assert not (tmp_path / "out").exists()


# Pieces of codebooks, good and bad: a code's lines (indented under `codes:`) and odd lines anywhere.
_CODE_LINES = (
    "    label: Joint meetings\n", "    label: 'it''s: a \"label\"'\n", "    label: \"\\u00e9t\\u00e9 \\ud800\"\n",
    "    description: >\n      folded\n      text\n", "    description: |\n      kept\n\n      lines\n",
    "    color: \"#1F77B4\"\n", "    color: #1f77b4\n", "    keywords: [joint meeting, 联席会议, govern*]\n",
    "    keywords:\n      - one\n      - 'two: three'\n", "    regex: ['joint(']\n", "    regex: ['a\\\\d+']\n",
    "    codes:\n      inner: [w]\n", "    rules: [{near: [[a], [b]], within: 3}]\n", "    exclude: &x [p, q]\n",
    "    exclude: *x\n", "    keyword: [k]\n", "    label: ~\n", "    label: x\u2028y\n", "    label: a: b\n",
    "    label: [unclosed\n", "    # a comment\n", "\t  label: tab\n", "    label: 'crlf'\r\n", "    label:\n",
)
_OTHER_LINES = (
    "name: Governance\n", "unit: sentence\n", "unit: page\n", "# comment\n", "\r\n", "\n", "   \n", "---\n",
    "%YAML 1.1\n", "  - item\n", "  ? complex\n  : key\n", "  d: {label: flow, keywords: [f]}\n", "  e: [x, y]\n",
    "  f:\r\n    label: crlf\r\n",
)
_CODEBOOKS = st.builds(
    lambda head, codes, odd: head + "codes:\n" + "".join(
        f"  {code_id}:\n" + "".join(lines) for code_id, lines in codes) + odd,
    st.sampled_from(("", "name: n\n", "name: n\r\nunit: sentence\r\n")),
    st.lists(st.tuples(st.sampled_from(("a", "b", "c", "'q: d'", "联席")), st.lists(st.sampled_from(_CODE_LINES), max_size=3)),
             max_size=5),
    st.sampled_from(("",) * 5 + _OTHER_LINES),
)


@given(_CODEBOOKS)
@settings(max_examples=300, deadline=None)
def test_codebook_libyaml_reads_as_the_python_parser(text):
    """Read by libyaml (the fast path) or by the pure-Python parser, a codebook is the same; any problem
    libyaml meets is explained by the Python path, in its words and lines."""
    from coder.codebook import _parse_with_libyaml, _parse_with_python

    try:
        expected = _parse_with_python(text, source="cb.yaml")
    except CodebookError:
        expected = None
    assert _parse_with_libyaml(text, source="cb.yaml") in (None, expected)
    if expected is None:
        with pytest.raises(CodebookError):
            parse_codebook(text, source="cb.yaml")
    else:
        assert parse_codebook(text, source="cb.yaml") == expected


@pytest.mark.parametrize("path", ["codebook.yaml"])
def test_codebook_libyaml_reads_the_bundled_codebook_as_the_python_parser(path):
    from coder.codebook import _parse_with_libyaml, _parse_with_python

    text = (Path(__file__).parent.parent / path).read_text(encoding="utf-8")
    assert _parse_with_libyaml(text, source=path) == _parse_with_python(text, source=path)
    assert _parse_with_libyaml(text, source=path) is not None or not yaml.__with_libyaml__


@pytest.mark.parametrize(("text", "message"), [
    # bounded cost: a 30,000-character keyword took 27 s to compile, 1,000 words overflowed the trie,
    # and a `within` past 2**63 stopped the run with an internal error
    ("codes:\n  foo: ['" + "a" * 1001 + "']\n", "2: code 'foo': an entry of `keywords` of 1,001 characters and 1 words: "
     "at most 1000 characters and 100 words. A long passage is no keyword; use a `near` or `all` rule, or a regex."),
    ("codes:\n  foo:\n    keywords: [x]\n    exclude: ['" + " ".join(["city"] * 101) + "']\n",
     "4: code 'foo': an entry of `exclude` of 504 characters and 101 words"),
    ("codes:\n  n:\n    rules:\n      - near: [[joint], [held]]\n        within: 9223372036854775808\n",
     "5: code 'n': a `near` rule needs `within: N`, the most words (characters, for Chinese) between its two words, "
     "a whole number from 1 to 1,000,000."),
    # exclude phrases follow the keywords' rules: '*ing' and 'joint *' excluded nothing, silently
    ("codes:\n  bar:\n    keywords: [joint meeting]\n    exclude: ['*ing', 'joint *']\n",
     "4: code 'bar': exclude phrase '*ing': `*` is only allowed at the end of a word, as in 'govern*'."),
    # a keyword of wildcards or tildes alone was told about `*` only
    ("codes:\n  foo: ['~', '**']\n", "2: code 'foo': keyword '~' has no word in it, only `*`, `~` or `-`: write the "
     "word, as in 'govern*' or '~cooperate'."),
    # every item under code_kinds commented out: nothing would be coded, without a word
    ("code_kinds:\ncodes:\n  foo: [joint meeting]\n", "1: codebook: `code_kinds` is empty, so no passage would be coded."),
    ("code_kinds: []\ncodes:\n  foo: [joint meeting]\n", "1: codebook: `code_kinds` is empty, so no passage would be coded."),
])
def test_codebook_costly_or_silent_entries_are_errors_with_their_line(text, message):
    with pytest.raises(CodebookError) as raised:
        parse_codebook(text, source="book.yaml")
    assert str(raised.value).startswith(f"book.yaml:{message}")


@pytest.mark.parametrize("value", ['!!python/object/apply:os.system ["touch x"]', '!!binary "aGVsbG8="', "!mine [a, b]"])
def test_codebook_refuses_a_yaml_tag_of_a_type_beyond_text(tmp_path, value):
    """`c1: !!python/object/apply:os.system [...]` loaded as a keyword list in silence (nothing ran, the loader
    is safe), and lint then spoke of the keyword 'touch x' (probe N9)."""
    from coder.codebook import load_codebook
    from coder.errors import CodebookError

    path = tmp_path / "codebook.yaml"
    path.write_text(f"codes:\n  c1: {value}\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"codebook\.yaml:2: a YAML tag"):
        load_codebook(path)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16"])
def test_codebook_saved_as_utf16_is_named_so(tmp_path, encoding):
    """Without a byte order mark, a UTF-16 codebook got a YAML error naming no line (probe N9)."""
    from coder.codebook import load_codebook
    from coder.errors import CodebookError

    path = tmp_path / "codebook.yaml"
    path.write_bytes("codes:\n  meeting: [joint meeting, 联席会议]\n".encode(encoding))
    with pytest.raises(CodebookError, match="saved as UTF-16"):
        load_codebook(path)


@pytest.mark.parametrize(("data", "message"), [
    ("name: Test\r\ncodes:\r\n  gov:\r\n    keywords: [governance, région]\r\n".encode("cp1252"),
     "codebook.yaml:4: not UTF-8 text (byte 0xE9 in column 29; saved in another encoding, such as Notepad's \"ANSI\"). "
     "Save the codebook as UTF-8 (in Notepad: Save As, Encoding UTF-8)."),
    ("codes:\r  管理:\r    keywords: [管理]\r".encode("gbk"),
     "codebook.yaml:2: not UTF-8 text (byte 0xB9 in column 3; saved in another encoding, such as Notepad's \"ANSI\"). "
     "Save the codebook as UTF-8 (in Notepad: Save As, Encoding UTF-8)."),
    (b"codes:\n  gov:\n    keywords: [gov\x07ernance]\n",
     "codebook.yaml:3: the character U+0007 (column 19) is a control character YAML does not allow. Delete it."),
])
def test_codebook_not_utf8_or_control_character_names_its_line(tmp_path, data, message):
    """A codebook Notepad saved as "ANSI" (Windows-1252, GBK) was refused "at byte 56", and a control
    character "at position 27": no line, where every other codebook error names one (probe AH8)."""
    path = tmp_path / "codebook.yaml"
    path.write_bytes(data)
    with pytest.raises(CodebookError) as raised:
        load_codebook(path)
    assert str(raised.value) == f"{path}{message.removeprefix(path.name)}"


@pytest.mark.parametrize("end", [b"\x1a", b"\r\n\x1a", b"\x1a\r\n", b"\r\n\x1a\r\n"])
def test_codebook_ending_in_ctrl_z_is_read(tmp_path, end):
    """Old DOS editors end a file with Ctrl-Z (0x1A): YAML refused it, naming a position, not a line (probe AH8)."""
    path = tmp_path / "codebook.yaml"
    path.write_bytes(b"codes:\r\n  gov:\r\n    keywords: [governance]" + end)
    assert [code.keywords for code in load_codebook(path)] == [("governance",)]


@pytest.mark.parametrize("field, value, shown", [
    ("label", r"nul\0here", "U+0000"),
    ("label", r"ctl\x01 label", "U+0001"),
    ("description", r"unit\x1fseparator", "U+001F"),
    ("description", r"not a character \ufffe", "U+FFFE"),
    ("keywords", r'["red\x0btape"]', "U+000B"),
])
def test_codebook_control_character_is_refused_with_its_line_code_and_field(field, value, shown):
    """NUL and other control characters in a label or description reached every CSV as they were, and made
    the report's SVG export unreadable XML (probe AN2)."""
    quoted = value if value.startswith("[") else f'"{value}"'
    text = f"codes:\n  admin:\n    keywords: [red tape]\n  gov:\n    {field}: {quoted}\n"
    if field != "keywords":
        text += "    keywords: [governance]\n"
    with pytest.raises(CodebookError) as raised:
        parse_codebook(text, source="cb.yaml")
    message = str(raised.value)
    assert message.startswith(f"cb.yaml:5: code 'gov': `{field}` holds the control character {shown},"), message


def test_codebook_description_keeps_tabs_and_line_breaks():
    codebook = parse_codebook('codes:\n  gov:\n    description: "one\\ttwo\\nthree\\r\\nfour"\n    keywords: [x]\n')
    assert codebook.codes[0].description == "one\ttwo\nthree\r\nfour"
