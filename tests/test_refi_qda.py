"""REFI-QDA export/import: schema validity, consistency the schema cannot check, stable GUIDs, round trip."""

from __future__ import annotations

import os
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import xmlschema
from conftest import invoke, make_run_folder
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from coder.codebook import load_codebook, parse_codebook, write_codebook
from coder.errors import CoderError, OutputError
from coder.models import Document, segment_id
from coder.refi_qda import (
    CODEBOOK_NAMESPACE,
    USER_GUID,
    build_project,
    build_qdc,
    build_qdpx,
    derive_guid,
    normalize_color,
    read_qdc,
)

SCHEMAS = Path(__file__).resolve().parent / "data" / "refi-qda"  # copies of ../shared/refi-qda (MIT, see SOURCES.md)
NS = {"q": "urn:QDA-XML:project:1.0", "c": "urn:QDA-XML:codebook:1.0"}
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

CODEBOOK_YAML = """\
name: test
unit: paragraph
codes:
  barriers:
    label: Barriers
    description: Things that stand in the way.
    color: "#D62728"
    codes:
      administrative_barrier:
        label: Administrative barrier
        description: Red tape & permits <between> regions.
        color: "#f80"
        keywords: [red tape, permit*]
      fiscal_barrier:
        label: Fiscal barrier
        keywords: [budget]
  cooperation:
    label: 合作
    color: "#1f77b4"
    keywords: [joint meeting, 联席会议]
  unused_group:
    label: Unused group
    codes:
      hand_coded:
        label: Hand coded
"""

ENGLISH = "Red tape slows permits.\n\nThe budget was cut.\n\nA joint meeting was held.\n"
CHINESE = "区域合作🙂很重要。\n\n召开联席会议，解决审批（permit）问题😀。\n\n没有关系的段落。\n"


@pytest.fixture
def codebook():
    return parse_codebook(CODEBOOK_YAML, source="codebook.yaml")


@pytest.fixture
def documents():
    return [Document(path="en/report.txt", text=ENGLISH), Document(path="zh/会议.txt", text=CHINESE)]


def _span(text: str, passage: str) -> tuple[int, int]:
    start = text.index(passage)
    return start, start + len(passage)


def _segments(rows):
    records = []
    for document, text, passage_text, index, code, review, note in rows:
        start, end = _span(text, passage_text)
        records.append(
            {
                "segment_id": segment_id(document, passage_text, code),
                "document": document,
                "passage": index,
                "start": start,
                "end": end,
                "code": code,
                "code_path": "",
                "label": code,
                "hits": 1,
                "matched": "",
                "text": passage_text,
                "review": review,
                "note": note,
            }
        )
    return pd.DataFrame(records)


@pytest.fixture
def segments():
    return _segments(
        [
            ("en/report.txt", ENGLISH, "Red tape slows permits.", 0, "administrative_barrier", "", ""),
            ("en/report.txt", ENGLISH, "The budget was cut.", 1, "fiscal_barrier", "accept", "Cut by 10%."),
            ("en/report.txt", ENGLISH, "A joint meeting was held.", 2, "cooperation", "REJECTED", "not really"),
            ("zh/会议.txt", CHINESE, "区域合作🙂很重要。", 0, "cooperation", "", ""),
            ("zh/会议.txt", CHINESE, "召开联席会议，解决审批（permit）问题😀。", 1, "cooperation", "yes", ""),
            ("zh/会议.txt", CHINESE, "召开联席会议，解决审批（permit）问题😀。", 1, "administrative_barrier", "", ""),
        ]
    )


def _project(documents, codebook, segments, tmp_path, name="project.qdpx", created=None):
    path = build_qdpx(documents, codebook, segments, path=tmp_path / name, project_name="Test", created=created)
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        qde = archive.read("project.qde")
        sources = {name: archive.read(name) for name in names if name.startswith("sources/")}
    return qde, sources, names


def _schema(name: str) -> Path:
    path = SCHEMAS / name
    assert path.is_file(), f"{path} is missing"
    return path


@pytest.mark.parametrize("schema_file", ["Project-mrt2019.xsd"])
def test_refi_qda_qdpx_valid_against_schema(documents, codebook, segments, tmp_path, schema_file):
    qde, _, _ = _project(documents, codebook, segments, tmp_path)
    schema_path = _schema(schema_file)
    lxml_schema = etree.XMLSchema(etree.parse(str(schema_path)))
    assert lxml_schema.validate(etree.fromstring(qde)), lxml_schema.error_log
    assert list(xmlschema.XMLSchema(str(schema_path)).iter_errors(qde.decode("utf-8"))) == []


@pytest.mark.parametrize("schema_file", ["qdc.xsd"])
def test_refi_qda_qdc_valid_against_schema(codebook, schema_file):
    qdc = build_qdc(codebook)
    schema_path = _schema(schema_file)
    lxml_schema = etree.XMLSchema(etree.parse(str(schema_path)))
    assert lxml_schema.validate(etree.fromstring(qdc)), lxml_schema.error_log
    assert list(xmlschema.XMLSchema(str(schema_path)).iter_errors(qdc.decode("utf-8"))) == []


@pytest.mark.parametrize("schema_file", ["qdc.xsd"])
def test_refi_qda_xmlschema_rejects_eight_digit_colour(schema_file):
    # The reason the tests use xmlschema as well: libxml2 accepts this colour, the schema does not.
    bad = (
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        '<Code guid="6f1e0d4c-1111-4b8e-9a51-0c1f3e1b2a10" name="a" isCodable="true" color="#1F77B4FF"/>'
        "</Codes></CodeBook>"
    )
    assert not xmlschema.XMLSchema(str(_schema(schema_file))).is_valid(bad)


def test_refi_qda_qdpx_consistency(documents, codebook, segments, tmp_path):
    qde, sources, names = _project(documents, codebook, segments, tmp_path)
    root = etree.fromstring(qde)
    guids = [element.get("guid") for element in root.iter() if element.get("guid")]
    assert len(guids) == len(set(guids))
    assert all(GUID.fullmatch(guid) for guid in guids)
    code_guids = {code.get("guid") for code in root.iterfind(".//q:Code", NS)}
    references = [ref.get("targetGUID") for ref in root.iterfind(".//q:CodeRef", NS)]
    assert references and set(references) <= code_guids
    kept = segments[~segments["review"].str.casefold().isin(["rejected"])]
    found = []
    for source in root.iterfind(".//q:TextSource", NS):
        guid = source.get("guid")
        assert source.get("plainTextPath") == f"internal://{guid}.txt"
        assert source.find("q:PlainTextContent", NS) is None
        text = sources[f"sources/{guid}.txt"].decode("utf-8")
        for selection in source.iterfind("q:PlainTextSelection", NS):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert 0 <= start <= end <= len(text)
            code_guid = selection.find("q:Coding/q:CodeRef", NS).get("targetGUID")
            found.append((source.get("name"), text[start:end], code_guid))
    expected = [
        (row.document, next(d.text for d in documents if d.path == row.document)[row.start:row.end], derive_guid("code", row.code))
        for row in kept.itertuples()
    ]
    assert sorted(found) == sorted(expected)
    assert names == sorted(["project.qde", *sources])


@pytest.mark.parametrize(
    "passage, start, end",
    [("区域合作🙂很重要。", 0, 9), ("召开联席会议，解决审批（permit）问题😀。", 11, 34)],
)
def test_refi_qda_chinese_and_emoji_positions_are_code_points(documents, codebook, segments, tmp_path, passage, start, end):
    qde, sources, _ = _project(documents, codebook, segments, tmp_path)
    root = etree.fromstring(qde)
    source = root.find(".//q:TextSource[@name='zh/会议.txt']", NS)
    text = sources[f"sources/{source.get('guid')}.txt"].decode("utf-8")
    spans = {(int(s.get("startPosition")), int(s.get("endPosition"))) for s in source.iterfind("q:PlainTextSelection", NS)}
    assert (start, end) in spans
    assert text[start:end] == passage


def test_refi_qda_sources_are_utf8_lf_without_bom(tmp_path, codebook):
    documents = [Document(path="a.txt", text="第一行\n第二行 é\n")]
    _, sources, _ = _project(documents, codebook, pd.DataFrame(columns=["document", "start", "end", "code"]), tmp_path)
    assert list(sources.values()) == ["第一行\n第二行 é\n".encode()]


@pytest.mark.parametrize(
    "review, note, kept, description",
    [
        ("", "", True, None),
        ("accept", "Checked by LW.", True, "Checked by LW."),
        ("Reject", "wrong sense", False, None),
        ("n", "", False, None),
        ("NO", "", False, None),
        ("0", "", False, None),
        ("False", "", False, None),
        ("y", "  keep  ", True, "keep"),
    ],
)
def test_refi_qda_review_decisions(documents, codebook, review, note, kept, description):
    segments = _segments([("en/report.txt", ENGLISH, "The budget was cut.", 1, "fiscal_barrier", review, note)])
    qde, _ = build_project(documents, codebook, segments)
    selections = etree.fromstring(qde).findall(".//q:PlainTextSelection", NS)
    assert len(selections) == (1 if kept else 0)
    if kept:
        found = selections[0].find("q:Description", NS)
        assert (found.text if found is not None else None) == description


def test_refi_qda_guids_are_stable_across_exports(documents, codebook, segments, tmp_path):
    first, _, names_first = _project(documents, codebook, segments, tmp_path, "one.qdpx", datetime(2026, 1, 1, tzinfo=UTC))
    second, _, names_second = _project(documents, codebook, segments, tmp_path, "two.qdpx", datetime(2026, 5, 1, tzinfo=UTC))
    guids = lambda qde: [e.get("guid") for e in etree.fromstring(qde).iter() if e.get("guid")]
    assert guids(first) == guids(second)
    assert names_first == names_second
    same_time = datetime(2026, 1, 1, tzinfo=UTC)
    again, _, _ = _project(documents, codebook, segments, tmp_path, "three.qdpx", same_time)
    assert again == first


def test_refi_qda_codes_hierarchy_and_codable(codebook):
    root = etree.fromstring(build_qdc(codebook))

    def tree(element):
        return [
            (
                code.get("name"),
                code.get("isCodable"),
                code.get("color"),
                code.findtext("c:Description", default=None, namespaces=NS),
                tree(code),
            )
            for code in element.findall("c:Code", NS)
        ]

    assert tree(root.find("c:Codes", NS)) == [
        ("Barriers", "false", "#D62728", "Things that stand in the way.", [
            ("Administrative barrier", "true", "#FF8800", "Red tape & permits <between> regions.", []),
            ("Fiscal barrier", "true", None, None, []),
        ]),
        ("合作", "true", "#1F77B4", None, []),
        ("Unused group", "false", None, None, [("Hand coded", "true", None, None, [])]),
    ]
    assert root.find("c:Codes/c:Code", NS).get("guid") == derive_guid("code", "barriers")


def test_refi_qda_user_and_dates(documents, codebook, segments):
    qde, _ = build_project(documents, codebook, segments, created=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    root = etree.fromstring(qde)
    assert [(u.get("guid"), u.get("name")) for u in root.iterfind("q:Users/q:User", NS)] == [(USER_GUID, "coder")]
    assert {e.get("creatingUser") for e in root.iter() if e.get("creationDateTime") and e.get("guid") != root.get("guid")} == {USER_GUID}
    assert {e.get("creationDateTime") for e in root.iter() if e.get("creationDateTime")} == {"2026-03-04T05:06:07Z"}


@pytest.mark.parametrize(
    "row, message",
    [
        (("gone.txt", 0, 5, "cooperation"), "segment x: document 'gone.txt' is not in the corpus"),
        (("en/report.txt", 0, 500, "cooperation"), "segment x: span 0-500 is outside 'en/report.txt' (72 characters)"),
        (("en/report.txt", 0, 5, "nope"), "segment x: code 'nope' is not in the codebook"),
    ],
)
def test_refi_qda_segments_that_do_not_fit_are_reported(documents, codebook, row, message):
    frame = pd.DataFrame([dict(zip(["document", "start", "end", "code"], row), segment_id="x")])
    with pytest.raises(OutputError) as caught:
        build_project(documents, codebook, frame)
    assert str(caught.value) == (
        "the segments do not fit the corpus and codebook (did they change since the run?):\n  "
        f"{message}\nRun `coder run` again, then export."
    )


def test_refi_qda_qdc_round_trip(codebook, tmp_path):
    first = build_qdc(codebook)
    (tmp_path / "book.qdc").write_bytes(first)
    imported, adjustments = read_qdc(tmp_path / "book.qdc")
    write_codebook(imported, tmp_path / "codebook.yaml")
    reloaded = load_codebook(tmp_path / "codebook.yaml")
    assert [(c.label, c.depth, c.description, c.color) for c in reloaded] == [
        (c.label, c.depth, c.description, c.color and normalize_color(c.color)[0]) for c in codebook
    ]
    assert adjustments == ["3 code(s) have no colour; coder picks one when drawing the network"]

    def shape(xml):
        # GUIDs follow the ids, which the import derives from the names; compare everything else.
        return re.sub(rb'guid="[^"]+"', b"", xml).replace(b'isCodable="false"', b'isCodable="true"')

    second = build_qdc(reloaded)
    assert shape(second) == shape(first)
    # Where the ids already were the slugs of the labels, the GUIDs survive as well.
    (tmp_path / "again.qdc").write_bytes(second)
    again, _ = read_qdc(tmp_path / "again.qdc")
    assert build_qdc(again) == second


LENIENT_QDC = """\
<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="SomeTool 12">
  <Codes>
    <Code guid="{6F1E0D4C-1111-4B8E-9A51-0C1F3E1B2A10}" name="Barriers" isCodable="false" color="rgb(214, 39, 40)">
      <Description>  Things in the way.  </Description>
      <Code guid="6F1E0D4C-2222-4B8E-9A51-0C1F3E1B2A10" name="Red tape" isCodable="true" color="#FF7F0EFF"/>
      <Code guid="6f1e0d4c-3333-4b8e-9a51-0c1f3e1b2a10" name="Red tape" isCodable="true" color="#abc"/>
    </Code>
    <Code guid="6f1e0d4c-4444-4b8e-9a51-0c1f3e1b2a10" name="Red Tape" isCodable="true"/>
    <Code guid="not-a-guid" name="Other" isCodable="true" color="chartreuse"/>
  </Codes>
</CodeBook>
"""


def test_refi_qda_read_qdc_is_lenient_and_reports(tmp_path):
    path = tmp_path / "other.qdc"
    path.write_text(LENIENT_QDC, encoding="utf-8")
    codebook, adjustments = read_qdc(path)
    assert [(c.id, c.label, c.path, c.description, c.color, c.keywords) for c in codebook] == [
        ("barriers", "Barriers", ("barriers",), "Things in the way.", "#d62728", ()),
        ("red_tape", "Red tape", ("barriers", "red_tape"), "", "#ff7f0e", ()),
        ("barriers_red_tape", "Red tape", ("barriers", "barriers_red_tape"), "", "#aabbcc", ()),
        ("red_tape_2", "Red Tape", ("red_tape_2",), "", None, ()),
        ("other", "Other", ("other",), "", None, ()),
    ]
    assert adjustments == [
        "code 'Barriers': colour 'rgb(214, 39, 40)' written as #d62728",
        "code 'Red tape': colour '#FF7F0EFF' written as #ff7f0e",
        "code 'Red tape': colour '#abc' written as #aabbcc",
        "code 'Other': GUID 'not-a-guid' is not a GUID; ignored",
        "code 'Other': colour 'chartreuse' is not a colour coder understands; left out",
        "2 GUID(s) were upper case or in braces; accepted",
        "1 code(s) have no colour; coder picks one when drawing the network",
        "code 'Red tape': id 'red_tape' already used, so its id is 'barriers_red_tape'",
        "code 'Red Tape': id 'red_tape' already used, so its id is 'red_tape_2'",
    ]
    write_codebook(codebook, tmp_path / "codebook.yaml")
    assert [c.id for c in load_codebook(tmp_path / "codebook.yaml")] == [c.id for c in codebook]


def test_refi_qda_read_qdc_from_qdpx(documents, codebook, segments, tmp_path):
    path = build_qdpx(documents, codebook, segments, path=tmp_path / "p.qdpx")
    imported, _ = read_qdc(path)
    assert [(c.label, c.depth) for c in imported] == [(c.label, c.depth) for c in codebook]
    assert imported["合作"].path == ("合作",)


@pytest.mark.parametrize(
    "content, message",
    [
        ("<CodeBook", "not well-formed XML"),
        ('<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>', "the project has no <CodeBook>; nothing to import."),
        ("<html/>", "root element is <html>, not <CodeBook>."),
        ('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>', "the codebook has no <Code> elements; nothing to import."),
    ],
)
def test_refi_qda_read_qdc_errors(tmp_path, content, message):
    path = tmp_path / "bad.qdc"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CoderError) as caught:
        read_qdc(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_refi_qda_write_codebook_never_overwrites_without_force(codebook, tmp_path):
    target = tmp_path / "codebook.yaml"
    target.write_text("keep me", encoding="utf-8")
    with pytest.raises(CoderError) as caught:
        write_codebook(codebook, target)
    assert str(caught.value) == f"{target} already exists. Pass --force to overwrite it, or choose another file with --out."
    assert target.read_text(encoding="utf-8") == "keep me"
    write_codebook(codebook, target, force=True)
    assert [c.id for c in load_codebook(target)] == [c.id for c in codebook]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codebook.yaml"]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("#1f77b4", ("#1f77b4", None)),
        ("#1F77B4", ("#1f77b4", None)),
        ("1f77b4", ("#1f77b4", "colour '1f77b4' written as #1f77b4")),
        ("#F80", ("#ff8800", "colour '#F80' written as #ff8800")),
        ("#1F77B4FF", ("#1f77b4", "colour '#1F77B4FF' written as #1f77b4")),
        ("rgba(255, 0, 10, 0.5)", ("#ff000a", "colour 'rgba(255, 0, 10, 0.5)' written as #ff000a")),
        ("rgb(256, 0, 0)", (None, "colour 'rgb(256, 0, 0)' is not a colour coder understands; left out")),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_refi_qda_normalize_color(value, expected):
    assert normalize_color(value) == expected


# ---------------------------------------------------------------------------------- CLI

RUN_CODEBOOK = """\
name: cli
codes:
  cooperation:
    label: Cooperation
    color: "#1f77b4"
    codes:
      joint_meeting:
        label: Joint meeting
        keywords: [joint meeting, 联席会议]
  barriers:
    label: Barriers
    keywords: [red tape]
"""


@pytest.fixture
def run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return make_run_folder(tmp_path, {
        "en.txt": "A joint meeting was held.\n\nRed tape everywhere.\n\nNothing here.\n",
        "zh.txt": "召开联席会议🙂。\n\n没有关系。\n",
    }, RUN_CODEBOOK)


def test_refi_qda_cli_export_qdpx(run_folder):
    segments = pd.read_csv(run_folder / "outputs" / "segments.csv", encoding="utf-8-sig", keep_default_na=False)
    segments.loc[segments["code"] == "barriers", "review"] = "reject"
    segments.to_csv(run_folder / "outputs" / "segments.csv", index=False, encoding="utf-8-sig")
    result = invoke("export", "qdpx")
    assert result.exit_code == 0, result.output
    assert result.output == "Wrote outputs/project.qdpx: 2 document(s), 3 code(s), 2 coded segment(s) (1 rejected left out).\n"
    with zipfile.ZipFile(run_folder / "outputs" / "project.qdpx") as archive:
        root = etree.fromstring(archive.read("project.qde"))
        assert root.get("name") == "corpus (coder)"
        texts = {s.get("name"): archive.read(f"sources/{s.get('guid')}.txt").decode("utf-8") for s in root.iterfind(".//q:TextSource", NS)}
        spans = sorted(
            (s.getparent().get("name"), texts[s.getparent().get("name")][int(s.get("startPosition")):int(s.get("endPosition"))])
            for s in root.iterfind(".//q:PlainTextSelection", NS)
        )
    assert spans == [("en.txt", "A joint meeting was held."), ("zh.txt", "召开联席会议🙂。")]


def test_refi_qda_cli_export_qdpx_refuses_a_corpus_edited_since_the_run(run_folder):
    """The selections were placed by the run's offsets in the edited text: all 24 of a document shifted by
    the 32 characters added at its top, in a file that passed the schema."""
    document = run_folder / "corpus" / "en.txt"
    document.write_text("Editor note added after the run.\n\n" + document.read_text(encoding="utf-8"), encoding="utf-8")
    result = invoke("export", "qdpx")
    assert (result.exit_code, result.output) == (1, (
        "Error: outputs: the export places each segment by the run's offsets, and the corpus is no longer the one it "
        "coded (changed: en.txt). Run `coder run` again, then try this again.\n"))
    assert not (run_folder / "outputs" / "project.qdpx").exists()


def test_refi_qda_cli_export_qdpx_without_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("export", "qdpx")
    assert result.exit_code == 1
    assert result.output == "Error: outputs/segments.csv: no such segments file. Run `coder run` first, or pass the path of a segments.csv.\n"


def test_refi_qda_cli_export_and_import_qdc(run_folder):
    result = invoke("export", "qdc", "--out", "book.qdc")
    assert (result.exit_code, result.output) == (0, "Wrote book.qdc: 3 code(s).\n")
    result = invoke("import", "qdc", "book.qdc")
    assert result.exit_code == 1
    assert result.output == "Error: codebook.yaml already exists. Pass --force to overwrite it, or choose another file with --out.\n"
    result = invoke("import", "qdc", "book.qdc", "--out", "skeleton.yaml")
    assert result.exit_code == 0
    assert result.output == (
        "Wrote skeleton.yaml: 3 code(s) from book.qdc.\n"
        "Adjusted (1):\n"
        "  - 2 code(s) have no colour; coder picks one when drawing the network\n"
    )
    assert [(c.id, c.path, c.color, c.keywords) for c in load_codebook(run_folder / "skeleton.yaml")] == [
        ("cooperation", ("cooperation",), "#1f77b4", ()),
        ("joint_meeting", ("cooperation", "joint_meeting"), None, ()),
        ("barriers", ("barriers",), None, ()),
    ]
    assert invoke("import", "qdc", "book.qdc", "--out", "skeleton.yaml", "--force").exit_code == 0


@given(
    text=st.text(alphabet=st.sampled_from(list("ab 中文合作\n🙂😀é\u200b\x0c\x00")), min_size=1, max_size=80),
    cuts=st.lists(st.tuples(st.integers(0, 80), st.integers(0, 80)), min_size=1, max_size=5),
)
@settings(max_examples=60, deadline=None)
def test_refi_qda_any_span_slices_back_exactly(text, cuts):
    codebook = parse_codebook("codes:\n  c: [x]\n", source="c.yaml")
    spans = sorted({(min(a, b) % (len(text) + 1), max(a, b) % (len(text) + 1)) for a, b in cuts})
    spans = [(start, end) if start <= end else (end, start) for start, end in spans]
    frame = pd.DataFrame(
        [{"segment_id": f"s{n}", "document": "d.txt", "start": s, "end": e, "code": "c"} for n, (s, e) in enumerate(spans)]
    )
    qde, files = build_project([Document(path="d.txt", text=text)], codebook, frame)
    (source_text,) = files.values()
    assert source_text.encode("utf-8").decode("utf-8") == text
    found = sorted(
        (int(s.get("startPosition")), int(s.get("endPosition")))
        for s in etree.fromstring(qde).iterfind(".//q:PlainTextSelection", NS)
    )
    assert found == sorted(spans)
    assert [source_text[s:e] for s, e in found] == [text[s:e] for s, e in sorted(spans)]


def _qdc(codes: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="{CODEBOOK_NAMESPACE}"><Codes>{codes}'
            f'</Codes></CodeBook>').encode()


def _nested_codes(depth: int) -> str:
    return "".join(f'<Code guid="{derive_guid("code", str(level))}" name="level {level}" isCodable="true">'
                   for level in range(depth)) + "</Code>" * depth


@pytest.mark.parametrize(("name", "make", "message"), [
    ("bomb.qdpx", "bomb", "bomb.qdpx: project.qde would unpack to 104,857,600 bytes from {packed} (at most 67,108,864 "
     "bytes, 100 times its packed size); not read. Export the project again from the other tool."),
    ("ratio.qdpx", "ratio", "ratio.qdpx: project.qde would unpack to 20,971,520 bytes from {packed} (at most 67,108,864 "
     "bytes, 100 times its packed size); not read. Export the project again from the other tool."),
    ("deep.qdc", "deep", "deep.qdc: code 'level 40' is nested more than 40 levels deep. Flatten the code hierarchy in "
     "the other tool and export again."),
    ("long.qdc", "long", "long.qdc: a code name of 100,001 characters ('" + "x" * 60 + "...', in long.qdc); at most "
     "1,000. Shorten it in the other tool and export again."),
    ("described.qdc", "described", "described.qdc: code 'a' has a description longer than 100,000 characters. "
     "Shorten it in the other tool and export again."),
])
def test_refi_qda_cli_import_qdc_is_bounded(tmp_path, monkeypatch, name, make, message):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / name
    if make in ("bomb", "ratio"):
        size = 100 * 2**20 if make == "bomb" else 20 * 2**20
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open("project.qde", "w", force_zip64=True) as member:
                for _ in range(size // 2**20):
                    member.write(b" " * 2**20)
        message = message.format(packed=f"{zipfile.ZipFile(path).getinfo('project.qde').compress_size:,}")
    elif make == "deep":
        path.write_bytes(_qdc(_nested_codes(200)))
    elif make == "long":
        path.write_bytes(_qdc(f'<Code guid="{derive_guid("code", "a")}" name="{"x" * 100_001}" isCodable="true"/>'))
    else:
        path.write_bytes(_qdc(f'<Code guid="{derive_guid("code", "a")}" name="a" isCodable="true">'
                              f'<Description>{"y" * 100_001}</Description></Code>'))
    result = invoke("import", "qdc", name, "--out", "book.yaml")
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    assert not (tmp_path / "book.yaml").exists()


def test_refi_qda_import_qdc_reads_a_file_no_larger_than_the_cap(tmp_path, monkeypatch):
    import coder.refi_qda

    monkeypatch.setattr(coder.refi_qda, "MAX_XML_BYTES", 100)
    path = tmp_path / "big.qdc"
    path.write_bytes(_qdc(_nested_codes(3)))
    with pytest.raises(CoderError) as raised:
        read_qdc(path)
    assert str(raised.value) == f"{path}: {path.stat().st_size:,} bytes, more than the 100 a codebook may have. " \
        "Is it a REFI-QDA codebook (.qdc)?"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_refi_qda_import_refuses_devices_and_pipes(tmp_path):
    """`zero.qdc -> /dev/zero` grew to 23 GB before it was stopped, and a named pipe waited for ever."""
    os.mkfifo(tmp_path / "pipe.qdc")
    (tmp_path / "zero.qdc").symlink_to("/dev/zero")
    for name in ("pipe.qdc", "zero.qdc"):
        result = invoke("import", "qdc", str(tmp_path / name), "--out", str(tmp_path / "out.yaml"))
        assert (result.exit_code, result.output) == (1, f"Error: {tmp_path / name}: not a regular file (a device or a pipe). "
                                                        "Pass the path of a .qdc codebook or .qdpx project.\n")
    assert not (tmp_path / "out.yaml").exists()


def test_refi_qda_import_reads_project_qde_before_other_qde_members(tmp_path):
    good = build_qdc(parse_codebook("codes:\n  kept: [x]\n"))
    other = build_qdc(parse_codebook("codes:\n  backup: [x]\n"))
    with zipfile.ZipFile(tmp_path / "p.qdpx", "w") as archive:
        archive.writestr("backup/old.qde", other)
        archive.writestr("project.qde", good)
    codebook, _ = read_qdc(tmp_path / "p.qdpx")
    assert [code.label for code in codebook] == ["kept"]


def test_refi_qda_import_lists_code_sets_it_leaves_out(tmp_path):
    """ATLAS.ti's code groups (<Sets>) were dropped without a word."""
    guid = "0b8f6e2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
    (tmp_path / "groups.qdc").write_text(
        '<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="ATLAS.ti">'
        f'<Codes><Code guid="{guid}" name="Joint meeting" isCodable="true"/></Codes>'
        f'<Sets><Set guid="1b8f6e2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b" name="Meetings"><MemberCode guid="{guid}"/></Set></Sets>'
        '</CodeBook>', encoding="utf-8")
    codebook, adjustments = read_qdc(tmp_path / "groups.qdc")
    assert [code.label for code in codebook] == ["Joint meeting"]
    assert "1 code set(s) ('Meetings') are not imported: a codebook.yaml has no sets; put their codes under a parent " \
           "code instead" in adjustments


def test_refi_qda_import_cuts_a_long_name_and_keeps_it_whole_in_the_description(tmp_path):
    """A label of 1,500 characters exported by `export qdc` was refused by `import qdc`."""
    long = "Joint meetings " * 100
    (tmp_path / "long.qdc").write_bytes(_qdc(f'<Code guid="{derive_guid("code", "a")}" name="{long}" isCodable="true">'
                                             f'<Description>Meetings.</Description></Code>'))
    codebook, adjustments = read_qdc(tmp_path / "long.qdc")
    (code,) = codebook.codes
    assert code.label == long.strip()[:1000].strip() and code.description == long.strip() + "\n\nMeetings."
    assert adjustments[0].startswith("long.qdc: a code name of 1,499 characters ('Joint meetings")


def test_refi_qda_cli_export_qdc_warns_of_sibling_codes_sharing_a_label(tmp_path, monkeypatch):
    """Two codes under one parent with one label exported without a word; a REFI-QDA tool names codes by label."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "codebook.yaml").write_text(
        "codes:\n  a:\n    label: Same\n    keywords: [x]\n  b:\n    label: same\n    keywords: [y]\n"
        "  p:\n    codes:\n      c: [z]\n      d: [w]\n", encoding="utf-8")
    result = invoke("export", "qdc", "--out", "book.qdc")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "Wrote book.qdc: 5 code(s).",
        "Warning: codes 'a', 'b' share the label 'Same' under the top level: the other tool may merge them. Give each "
        "its own label."]


@pytest.mark.parametrize(("command", "name"), [("qdpx", "project.qdpx"), ("xlsx", "segments.xlsx")])
def test_an_export_of_another_run_goes_to_that_run_s_folder(run_folder, command, name):
    """`export xlsx --segments X/segments.csv` wrote outputs/segments.xlsx: outputs/'s next run took the
    decisions typed there, and X's never saw them."""
    import shutil

    shutil.copytree(run_folder / "outputs", run_folder / "round2")
    result = invoke("export", command, "--segments", "round2/segments.csv")
    assert result.exit_code == 0, result.output
    assert (run_folder / "round2" / name).is_file() and not (run_folder / "outputs" / name).exists()
    assert result.output.startswith(f"Wrote round2/{name}")


@pytest.mark.parametrize("command", ["qdpx", "xlsx"])
def test_an_export_of_the_previous_run_needs_out(run_folder, command):
    """Written by default into outputs/.previous/, which the next run replaces: a workbook filled in there was lost."""
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "-q").exit_code == 0
    result = invoke("export", command, "--segments", "outputs/.previous")
    assert result.exit_code == 1
    assert "the next `coder run` replaces this folder" in result.output and "--out" in result.output
    assert invoke("export", command, "--segments", "outputs/.previous", "--out", f"previous.{command}").exit_code == 0
