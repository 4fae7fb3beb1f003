"""Dictionary import: quanteda YAML, LIWC .dic (2007 and 2015 legends), WordStat .cat -> codebook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import invoke

from coder.codebook import load_codebook, write_codebook
from coder.dictionaries import convert_entry, read_dictionary
from coder.errors import CodebookError

DATA = Path(__file__).parent / "data" / "dictionaries"


def _codes(codebook):
    return [(c.id, c.label, c.path, c.description, c.keywords, c.regex) for c in codebook]


@pytest.mark.parametrize(
    "entry, expected",
    [
        ("happi*", ("keyword", "happi*", None)),
        ("  joint   meeting ", ("keyword", "joint meeting", None)),
        ("exchange visit*", ("keyword", "exchange visit*", None)),
        ("合作*", ("keyword", "合作*", None)),
        ("*ness", ("regex", r"(?<!\w)\w*ness(?!\w)", r"'*ness' has a wildcard at the start or inside a word; written as regex (?<!\w)\w*ness(?!\w)")),
        ("un*able", ("regex", r"(?<!\w)un\w*able(?!\w)", r"'un*able' has a wildcard at the start or inside a word; written as regex (?<!\w)un\w*able(?!\w)")),
        ("colo?r", ("regex", r"(?<!\w)colo\wr(?!\w)", r"'colo?r' has a wildcard at the start or inside a word; written as regex (?<!\w)colo\wr(?!\w)")),
        ("*", ("skip", None, "'*' has no letters or digits besides wildcards; left out")),
        ("", ("skip", None, None)),
        # a keyword matches its symbols as written (probe AB1); a bracket at a word's end is a break
        ("c++", ("keyword", "c++", None)),
        ("R&D*", ("keyword", "R&D*", None)),
        ("(c", ("regex", r"(?<!\w)\(c(?!\w)", "'(c' has punctuation a keyword reads as a break between words "
                r"(as a keyword it would match 'c'); written as regex (?<!\w)\(c(?!\w)")),
        ("don't", ("keyword", "don't", None)),
        ("U.S.", ("keyword", "U.S.", None)),
        ("co-operation", ("keyword", "co-operation", None)),
    ],
)
def test_dictionaries_convert_entry(entry, expected):
    assert convert_entry(entry) == expected


@pytest.mark.parametrize(
    "entry, text, matched",
    [("*ness", "Great happiness here", "happiness"), ("un*able", "It is UNBEARABLE.", "UNBEARABLE"), ("colo?r", "Colour", "Colour"), ("colo?r", "color colo r colourful", None)],
)
def test_dictionaries_regex_entries_match_whole_words(entry, text, matched):
    _, pattern, _ = convert_entry(entry)
    found = re.search(pattern, text, re.IGNORECASE)
    assert (found.group(0) if found else None) == matched


def test_dictionaries_quanteda_yaml():
    codebook, report = read_dictionary(DATA / "governance.yml")
    assert codebook.name == "governance"
    assert _codes(codebook) == [
        ("cooperation", "cooperation", ("cooperation",), "", (), ()),
        ("institutional", "institutional", ("cooperation", "institutional"), "", ("joint meeting", "cooperat*", "联席会议", "合作*"), ()),
        ("informal", "informal", ("cooperation", "informal"), "", ("exchange visit*",), (r"(?<!\w)\w*partnership(?!\w)",)),
        ("barriers", "barriers", ("barriers",), "", ("red tape", "bureaucra*"), (r"(?<!\w)permit\w(?!\w)",)),
        ("lone_entry", "lone_entry", ("lone_entry",), "", ("collaborat*",), ()),
        ("empty_category", "empty_category", ("empty_category",), "", (), ()),
    ]
    assert report == [
        r"category 'informal': '*partnership' has a wildcard at the start or inside a word; written as regex (?<!\w)\w*partnership(?!\w)",
        r"category 'barriers': 'permit?' has a wildcard at the start or inside a word; written as regex (?<!\w)permit\w(?!\w)",
        "category 'barriers': 1 repeated entry dropped",
        "category 'empty_category' has no entries; kept as a code to fill in",
    ]


def test_dictionaries_quanteda_repeated_category_keeps_both_lists(tmp_path):
    """A category named twice keeps the entries of both (PyYAML's dict had kept only the last list),
    and words YAML reads as booleans or numbers stay the words written."""
    path = tmp_path / "d.yml"
    path.write_text("assent:\n  - yes\n  - ok\nbarriers:\n  admin: [red tape]\nassent: [agree*, on, 2020]\n"
                    "barriers:\n  admin: [permit delay]\n  local: [protectionism]\n", encoding="utf-8")
    codebook, report = read_dictionary(path)
    assert [(code.id, code.keywords) for code in codebook] == [
        ("assent", ("yes", "ok", "agree*", "on", "2020")), ("barriers", ()),
        ("admin", ("red tape", "permit delay")), ("local", ("protectionism",))]
    assert report == ["category 'assent' is named again on line 6; its entries are merged",
                      "category 'barriers' is named again on line 7; its entries are merged"]


@pytest.mark.parametrize("name, content", [
    ("d.yml", b'"ctl\\x01name": ["wo\\x02rd", other]\n'),
    ("d.dic", b"%\n1\tctl\x01name\n%\nwo\x02rd\t1\nother\t1\n"),
])
def test_dictionaries_control_characters_become_spaces_and_are_reported(tmp_path, name, content):
    """A control character in a category or entry went into the codebook as it was, so writing it failed with
    errors naming lines of a codebook never written (probe AN2)."""
    path = tmp_path / name
    path.write_bytes(content)
    codebook, report = read_dictionary(path)
    assert [(code.id, code.label, code.keywords) for code in codebook] == [("ctl_name", "ctl name", ("wo rd", "other"))]
    assert report == ["category 'ctl name': U+0001, U+0002 replaced by a space (characters a codebook cannot hold)"]
    written = write_codebook(codebook, tmp_path / "codebook.yaml")
    assert [code.label for code in load_codebook(written)] == ["ctl name"]


def test_dictionaries_quanteda_category_without_a_name_is_reported(tmp_path):
    """A category named "" became code `code`, labelled `code`, with no word in the report; `import qdc`
    lists its nameless codes as '(unnamed)' (probe AN3)."""
    path = tmp_path / "d.yml"
    path.write_text('"": [orphan words]\nreal: [other]\nparent:\n  " ": [inner]\n', encoding="utf-8")
    codebook, report = read_dictionary(path)
    assert [(code.id, code.label, code.keywords) for code in codebook] == [
        ("unnamed", "(unnamed)", ("orphan words",)), ("real", "real", ("other",)), ("parent", "parent", ()),
        ("parent_unnamed", "(unnamed)", ("inner",))]
    assert report[:2] == ["line 1: a category without a name, imported as '(unnamed)'",
                          "line 4: a category without a name, imported as '(unnamed)'"]


def test_dictionaries_liwc_2007_numbered_legend():
    codebook, report = read_dictionary(DATA / "liwc2007.dic")
    assert _codes(codebook) == [
        ("posemo", "posemo", ("posemo",), "Positive emotion", ("happi*", "love", "like"), (r"(?<!\w)\w*ness(?!\w)",)),
        ("negemo", "negemo", ("negemo",), "", ("hate", "don't know", "nervous"), ()),
        ("cogmech", "cogmech", ("cogmech",), "", ("kind of", "don't know"), ()),
    ]
    assert report == [
        "line 13: 'like' has conditional categories (02 134)125/464 that coder cannot express; only its plain categories are used",
        "line 14: 'foo' refers to category '99', which the legend does not define; left out",
        r"category 'posemo': '*ness' has a wildcard at the start or inside a word; written as regex (?<!\w)\w*ness(?!\w)",
    ]


def test_dictionaries_liwc_2015_nested_legend():
    codebook, report = read_dictionary(DATA / "liwc2015.dic")
    assert [(c.id, c.path, c.keywords) for c in codebook] == [
        ("affect", ("affect",), ("happy", "sad")),
        ("posemo", ("affect", "posemo"), ("happy",)),
        ("negemo", ("affect", "negemo"), ("sad",)),
        ("social", ("social",), ("friend*",)),
    ]
    assert report == []


def test_dictionaries_wordstat_entry_outside_a_category_says_where(tmp_path):
    path = tmp_path / "d.cat"
    path.write_text("LOST (1)\nPOSITIVE\n    GOOD (1)\nSTRAY (1)\n", encoding="utf-8")
    codebook, report = read_dictionary(path)
    assert [(code.id, code.keywords) for code in codebook] == [("positive", ("good",))]
    assert report == ["line 1: entry 'LOST (1)' comes before any category; left out",
                      "line 4: entry 'STRAY (1)' is not indented under a category; left out"]


def test_dictionaries_wordstat_cat():
    codebook, report = read_dictionary(DATA / "sentiment.cat")
    assert [(c.id, c.label, c.path, c.keywords) for c in codebook] == [
        ("positive", "POSITIVE", ("positive",), ("good", "happ*", "well done", "great")),
        ("negative", "NEGATIVE", ("negative",), ()),
        ("anger", "ANGER", ("negative", "anger"), ("angr*", "furious")),
        ("sadness", "SADNESS", ("negative", "sadness"), ("sad",)),
    ]
    assert report == [
        "line 12: '@NEG GOOD' is a WordStat rule (@), which coder cannot express; left out",
        "1 entry has a weight other than 1; coder does not weigh keywords",
    ]


@pytest.mark.parametrize(
    "content, expected",
    [
        # spaces instead of tabs, Windows line ends, the same subcategory name twice
        (
            "ECONOMY\r\n    POSITIVE\r\n        GROWTH (1)\r\nPOLITICS\r\n    POSITIVE\r\n        REFORM* (1)\r\n",
            [("economy", ("economy",), ()), ("positive", ("economy", "positive"), ("growth",)),
             ("politics", ("politics",), ()), ("politics_positive", ("politics", "politics_positive"), ("reform*",))],
        ),
    ],
)
def test_dictionaries_wordstat_spaces_and_repeated_names(tmp_path, content, expected):
    path = tmp_path / "d.cat"
    path.write_bytes(content.encode("utf-8"))
    codebook, report = read_dictionary(path)
    assert [(c.id, c.path, c.keywords) for c in codebook] == expected
    assert report == ["category 'POSITIVE': id 'positive' already used, so its id is 'politics_positive'"]


@pytest.mark.parametrize("name", ["governance.yml", "liwc2007.dic", "liwc2015.dic", "sentiment.cat"])
def test_dictionaries_import_writes_a_loadable_codebook(tmp_path, name):
    codebook, _ = read_dictionary(DATA / name)
    write_codebook(codebook, tmp_path / "codebook.yaml")
    loaded = load_codebook(tmp_path / "codebook.yaml")
    assert _codes(loaded) == _codes(codebook)


def test_dictionaries_windows_1252_is_reported(tmp_path):
    path = tmp_path / "old.dic"
    path.write_bytes("%\n1\tposemo\n%\ncaf\xe9\t1\n".encode("cp1252"))
    codebook, report = read_dictionary(path)
    assert codebook["posemo"].keywords == ("café",)
    assert report == ["old.dic: not UTF-8; read as Windows-1252"]


@pytest.mark.parametrize(("encoding", "report"), [
    ("cp950", ["cliwc.dic: not UTF-8; read as Big5 (cp950)"]),
    ("gbk", []),  # GB18030, as before
])
def test_dictionaries_chinese_code_page_is_read_and_reported(tmp_path, encoding, report):
    """A Chinese LIWC file circulates in Big5: read as Windows-1252, every word was mojibake (probe AN4)."""
    path = tmp_path / "cliwc.dic"
    path.write_bytes("%\n1\t正面情緒\n2\t負面情緒\n%\n高興\t1\n快樂*\t1\n悲傷\t2\n難過\t2\n".encode(encoding))
    codebook, reported = read_dictionary(path)
    assert [(code.label, code.keywords) for code in codebook] == [
        ("正面情緒", ("高興", "快樂*")), ("負面情緒", ("悲傷", "難過"))]
    assert reported == report


def test_dictionaries_windows_1252_read_as_before_where_big5_decodes_it(tmp_path):
    """´ and an accent pair with the next byte as Big5 ideographs (it愀): rare ones, so Windows-1252 (probe AQ4)."""
    path = tmp_path / "old.dic"
    path.write_bytes("%\n1\tposemo\n%\nit´s\t1\nO´Neill\t1\nGenève\t1\n".encode("cp1252"))
    codebook, report = read_dictionary(path)
    assert codebook["posemo"].keywords == ("it´s", "O´Neill", "Genève")
    assert report == ["old.dic: not UTF-8; read as Windows-1252"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("d.txt", "x", "{path}: unknown dictionary type '.txt'. Use a quanteda .yml/.yaml, a LIWC .dic or a WordStat .cat file."),
        ("d.dic", "1\tposemo\nhappy\t1\n", "{path}: a LIWC dictionary starts with its category legend between two lines holding just `%`; found 0 such line(s)."),
        ("d.yml", "- a\n- b\n", "{path}: a quanteda dictionary is a mapping of category names to lists of entries, for example `positive: [good, happ*]`."),
        ("d.cat", "\n\n", "{path}: no categories found; nothing to import."),
    ],
)
def test_dictionaries_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        read_dictionary(path)
    assert str(caught.value) == message.format(path=path)


def test_dictionaries_cli_import(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("import", "dictionary", str(DATA / "sentiment.cat"), "--out", "sentiment.yaml")
    assert result.exit_code == 0
    assert result.output == (
        f"Wrote sentiment.yaml: 4 code(s) from {DATA / 'sentiment.cat'}.\n"
        "Adjusted (2):\n"
        "  - line 12: '@NEG GOOD' is a WordStat rule (@), which coder cannot express; left out\n"
        "  - 1 entry has a weight other than 1; coder does not weigh keywords\n"
    )
    assert load_codebook(tmp_path / "sentiment.yaml")["anger"].keywords == ("angr*", "furious")
    again = invoke("import", "dictionary", str(DATA / "sentiment.cat"), "--out", "sentiment.yaml")
    assert (again.exit_code, again.output) == (
        1, "Error: sentiment.yaml already exists. Pass --force to overwrite it, or choose another file with --out.\n"
    )


_LIWC = "%\n1\tposemo\n2\tnegemo\n%\nhappy\t1\nsad\t2\n"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("bomb.yml", (b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                  b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"),
     "bomb.yml:2: a YAML alias (*a) repeats other entries; aliases are not accepted here. Write the entries out in full."),
    ("deep.yml", ("".join("  " * level + f"k{level}:\n" for level in range(300)) + "  " * 300 + "- word\n").encode(),
     "deep.yml:101: nested more than 100 levels deep. Flatten the hierarchy to fewer levels."),
    ("deep41.yml", ("".join("  " * level + f"k{level}:\n" for level in range(41)) + "  " * 41 + "- word\n").encode(),
     "deep41.yml: category 'k40' is nested more than 40 levels deep. Flatten the dictionary's hierarchy to fewer "
     "levels and import again."),
    ("deep.cat", "".join("\t" * level + f"C{level}\n" for level in range(500)).encode(),
     "deep.cat: category 'C40' is nested more than 40 levels deep. Flatten the dictionary's hierarchy to fewer "
     "levels and import again."),
    ("twice.dic", b"%\n1\tposemo\n1\tnegemo\n%\nhappy\t1\n",
     "twice.dic:3: category id 1 is defined twice in the legend ('posemo' and 'negemo'); entries could not tell them "
     "apart. Give each category its own id."),
    ("nul.dic", _LIWC.replace("happy", "hap\x00py").encode(),
     "nul.dic: cannot decode: binary data (NUL bytes without a UTF-16 byte order mark). Save the dictionary as UTF-8 "
     "text and try again."),
    ("binary.dic", bytes(range(256)) * 4,
     "binary.dic: cannot decode: binary data (NUL bytes without a UTF-16 byte order mark). Save the dictionary as "
     "UTF-8 text and try again."),
])
def test_dictionaries_cli_import_refuses_hostile_files(tmp_path, monkeypatch, name, data, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(data)
    result = invoke("import", "dictionary", name, "--out", "book.yaml")
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    assert not (tmp_path / "book.yaml").exists()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_dictionaries_cli_import_reads_utf16_liwc(tmp_path, monkeypatch, encoding):
    monkeypatch.chdir(tmp_path)
    data = _LIWC.encode(encoding)
    (tmp_path / "u.dic").write_bytes(data if encoding == "utf-16" else b"\xfe\xff" + data)
    result = invoke("import", "dictionary", "u.dic", "--out", "book.yaml")
    assert (result.exit_code, result.output) == (0, "Wrote book.yaml: 2 code(s) from u.dic.\n")
    assert [(code.id, code.keywords) for code in load_codebook(tmp_path / "book.yaml")] == [
        ("posemo", ("happy",)), ("negemo", ("sad",))]


def test_dictionaries_liwc_space_separated_phrase_keeps_its_last_word(tmp_path):
    """`at work 1 2` with a category named "work" was the keyword "at" in both categories (and a note of a
    repeated entry): trailing ids are the categories, names only on a line that gives no id."""
    path = tmp_path / "d.dic"
    path.write_text("%\n1\tposemo\n2\twork\n%\nat work 1 2\nhappy posemo\nboss 2\njob work\n", encoding="utf-8")
    codebook, report = read_dictionary(path)
    assert [(code.id, code.keywords) for code in codebook] == [("posemo", ("at work", "happy")),
                                                               ("work", ("at work", "boss", "job"))]
    assert report == []


def test_dictionaries_cli_import_never_writes_over_the_file_it_reads(tmp_path, monkeypatch):
    """`coder import dictionary codebook.yaml --out codebook.yaml --force` replaced a hand-written codebook with
    itself read as a quanteda dictionary (its `name` and `unit` as categories) (probe N2)."""
    monkeypatch.chdir(tmp_path)
    dictionary = tmp_path / "moral.yml"
    dictionary.write_text("care: [kind*, protect]\nharm: [hurt*]\n", encoding="utf-8")
    result = invoke("import", "dictionary", "moral.yml", "--out", "moral.yml", "--force")
    assert result.exit_code == 1 and "--force never writes over it" in result.output
    assert dictionary.read_text(encoding="utf-8") == "care: [kind*, protect]\nharm: [hurt*]\n"
    codebook = Path(__file__).resolve().parent.parent / "codebook.yaml"
    refused = invoke("import", "dictionary", str(codebook), "--out", "imported.yaml")
    assert refused.exit_code == 1 and "this is a coder codebook already" in refused.output
    assert not (tmp_path / "imported.yaml").exists()
