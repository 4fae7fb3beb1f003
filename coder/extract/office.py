"""Stage 1 (office documents): the body text of DOCX, ODT and RTF files, one paragraph per block.

- DOCX with python-docx: body paragraphs and tables in document order (a table row is one
  paragraph, cells separated by a tab). Page headers, footers and comments live outside
  the body and are listed as removed.
- ODT with lxml on its content.xml (odfpy, the usual library, has had no release since
  2020 and is not needed for reading text): headings, paragraphs and list items; <text:s>,
  <text:tab> and <text:line-break> become spaces, tabs and line breaks.
- RTF with striprtf (it honours \\ansicpg and \\uN escapes).

Word and OpenDocument files have no fixed pages (pages depend on the printer), so no page
spans are given.
"""

from __future__ import annotations

import io
import re
import zipfile

from . import ExtractedText, ExtractionError, Removed, break_mark, with_breaks
from .encodings import whole_characters

# What one Word or OpenDocument archive may unpack to (its parts' declared sizes, which zipfile
# never reads past): a real document is a few MB (a 300-page thesis's XML, 5-15 MB); a "zip bomb" of a
# few hundred KB is gigabytes. Its XML costs about 15 times its size in memory: 192 MB of ordinary Word XML
# (within the 256 MiB allowed before) took 2.9 GB and 108 s (probe N7); 64 MiB stays near 1 GB.
_MAX_UNPACKED_BYTES = 64 * 1024 * 1024
_MAX_PARTS = 10_000
# ... nor more than this many times its own size past a floor: Word's XML packs 5-20 times; 0.65 MB that
# unpacked to 200 MB of XML (300 times) cost 4.3 GB of memory and two minutes.
_MAX_EXPANSION = 100
_EXPANSION_FLOOR = 32 * 1024 * 1024
# The most spaces one <text:s text:c="N"/> stands for.
_MAX_SPACES = 1_000
_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def extract_docx(data: bytes) -> ExtractedText:
    """Body paragraphs and table rows of a Word (.docx) file.

    Raises:
        ExtractionError: not a .docx file (an old .doc, or damaged), or no text.
    """
    import docx

    _check_archive(data, "docx")
    try:
        return _docx_text(docx.Document(io.BytesIO(data)))
    except ExtractionError:
        raise
    except Exception as error:  # python-docx meets a damaged part with whatever error its code hits first
        raise ExtractionError(
            f"not a readable .docx file: {_docx_damage(error)}. If it is an old .doc file, save it as "
            f".docx in Word or LibreOffice"
        ) from None


def _docx_damage(error: Exception) -> str:
    """What is wrong with a zip file that python-docx could not open, in a reader's words."""
    from lxml import etree

    missing = re.search(r"There is no item named '([^']*)'", str(error)) if isinstance(error, KeyError) else None
    if missing:
        return f"the part '{missing.group(1)}' that every Word file has is missing"
    if isinstance(error, etree.XMLSyntaxError):
        return f"one of its XML parts is damaged ({error.msg})"
    return "its parts are not laid out as Word lays them out (damaged, or made by another program)"


def _docx_text(document) -> ExtractedText:
    paragraphs: list[str] = []
    # Blocks to read, in order: the body's, and after a paragraph those of the text boxes anchored in it.
    pending = list(reversed(list(_docx_blocks(document.element.body))))
    while pending:
        block = pending.pop()
        if block.tag == _W_P:
            paragraphs.append(_docx_paragraph_text(block))
            pending.extend(reversed([inner for box in _text_boxes(block) for inner in _docx_blocks(box)]))
        else:
            paragraphs.extend(_table_rows(block))
    removed: list[Removed] = _docx_notes(document)
    for section in document.sections:
        for part, reason in ((section.header, "page header"), (section.footer, "page footer")):
            if part.is_linked_to_previous:
                continue
            text = "\n".join(p.text for p in part.paragraphs if p.text.strip())
            if text and all(item.text != text for item in removed):
                removed.append(Removed(page=None, text=text, reason=reason))
    return _finish(paragraphs, "docx", removed)


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W_P, _W_TBL = f"{{{_W}}}p", f"{{{_W}}}tbl"
_W_TYPE = f"{{{_W}}}type"


def _docx_notes(document) -> list[Removed]:
    """A Word file's footnotes, endnotes and comments, listed as removed (each note's or comment's text): they
    were left out without a trace (probe AB10). They are not coded: a footnote is mostly a citation, whose
    cited title would code a claim the text does not make, read after the body it took the reference list's
    kind or made the body's last passage a title (probe AC); a comment is a reviewer's remark."""
    from docx.oxml.parser import parse_xml

    removed: list[Removed] = []
    for kind, reason in (("/footnotes", "footnote"), ("/endnotes", "endnote"), ("/comments", "comment")):
        for relationship in document.part.rels.values():
            if relationship.is_external or not relationship.reltype.endswith(kind):
                continue
            root = parse_xml(relationship.target_part.blob)
            for note in root.iterchildren():
                if note.get(_W_TYPE) in ("separator", "continuationSeparator", "continuationNotice"):
                    continue
                text = "\n".join(line.strip() for line in map(_docx_paragraph_text, note.iter(_W_P)) if line.strip())
                if text:
                    removed.append(Removed(page=None, text=text, reason=reason))
    return removed


# Block containers whose paragraphs and tables Word shows in place: content controls, custom XML.
_W_BLOCK_WRAPPERS = frozenset({f"{{{_W}}}sdt", f"{{{_W}}}sdtContent", f"{{{_W}}}customXml"})
# What Word shows of a run, as python-docx's Run.text reads it.
_W_R, _W_VANISH, _W_VAL = f"{{{_W}}}r", f"{{{_W}}}rPr/{{{_W}}}vanish", f"{{{_W}}}val"
_W_RUN_TEXT = frozenset(f"{{{_W}}}{name}" for name in ("t", "tab", "br", "cr", "noBreakHyphen", "ptab"))
# Inside a paragraph, what Word does not show as its text: deleted and moved-away revisions, the
# fallback copy of alternate content, and text boxes (paragraphs of their own).
_W_NOT_SHOWN = frozenset({f"{{{_W}}}del", f"{{{_W}}}moveFrom", f"{{{_W}}}txbxContent",
                          "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"})


def _docx_blocks(container):
    """The paragraphs and tables of a body or cell, in order, those inside content controls too."""
    for child in container.iterchildren():
        if child.tag in (_W_P, _W_TBL):
            yield child
        elif child.tag in _W_BLOCK_WRAPPERS:
            yield from _docx_blocks(child)


def _docx_paragraph_text(paragraph) -> str:
    """A paragraph's text as Word shows it: its runs, those inside insertions, hyperlinks, smart tags,
    fields and content controls too (python-docx reads only runs and hyperlinks), deleted text not."""
    parts: list[str] = []
    stack = list(reversed(paragraph))
    while stack:  # depth first, in document order, without recursion (a deep file cannot overflow it)
        element = stack.pop()
        tag = element.tag
        if tag in _W_RUN_TEXT:
            parts.append(str(element))
        elif tag == _W_R and _hidden_run(element):
            continue
        elif tag not in _W_NOT_SHOWN and tag != _W_P and isinstance(tag, str):
            stack.extend(reversed(element))
    return "".join(parts)


_W_TEXT_BOX = f"{{{_W}}}txbxContent"


def _text_boxes(paragraph) -> list:
    """The text boxes (<w:txbxContent>, of a DrawingML shape or a VML one) a paragraph anchors, as Word
    shows them: not the fallback copy of alternate content, nor in deleted text; not those inside
    another text box (read with that box's paragraphs)."""
    boxes = []
    stack = list(reversed(paragraph))
    while stack:
        element = stack.pop()
        tag = element.tag
        if tag == _W_TEXT_BOX:
            boxes.append(element)
        elif tag not in _W_NOT_SHOWN and tag != _W_P and isinstance(tag, str):
            stack.extend(reversed(element))
    return boxes


def _hidden_run(run) -> bool:
    """Whether a run is hidden text (Font > Hidden, <w:vanish/>): Word shows and prints none of it."""
    vanish = run.find(_W_VANISH)
    return vanish is not None and vanish.get(_W_VAL, "true").lower() not in ("0", "false", "off")


def _table_rows(table) -> list[str]:
    """Each row of a Word table (its <w:tbl> element) as its cells' texts joined by tabs, a merged
    cell once: what python-docx's row.cells gave, read in one pass. row.cells repeats a cell once per
    grid column it spans and finds the text of a vertically merged cell by walking up the rows above,
    each time: a 37 KB file of one cell spanning a billion columns, or of 3,000 merged rows, never
    finished. Here a cell that continues a merge takes the text of the cell at its grid offset in the
    row above (none there: no text, where python-docx refused the file)."""
    rows: list[str] = []
    above: dict[int, str] = {}  # grid offset -> the text of the row above's cell starting there
    for tr in table.tr_lst:
        offset = tr.grid_before
        here: dict[int, str] = {}
        cells: list[str] = []
        for tc in tr.tc_lst:
            value = above.get(offset, "") if tc.vMerge == "continue" else _cell_text(tc)
            here[offset] = value
            if not cells or value != cells[-1]:  # a merged cell once, as row.cells' repeats were dropped
                cells.append(value)
            offset += tc.grid_span
        rows.append("\t".join(cells))
        above = here
    return rows


def _cell_text(tc) -> str:
    """A table cell's paragraphs, as python-docx's cell.text joins them, and a table nested in it, a row
    a line (python-docx leaves nested tables out)."""
    lines = []
    for block in _docx_blocks(tc):
        lines.extend([_docx_paragraph_text(block)] if block.tag == _W_P else _table_rows(block))
    return "\n".join(lines).strip()


def extract_odt(data: bytes) -> ExtractedText:
    """Headings, paragraphs and list items of an OpenDocument text (.odt) file.

    Raises:
        ExtractionError: not an .odt file, or no text.
    """
    from lxml import etree

    _check_archive(data, "odt")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read("content.xml")
        root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as error:
        raise ExtractionError(f"not a readable .odt file ({error}): save it again as .odt or .docx") from None
    body = root.find(f"{{{_ODF_OFFICE}}}body")
    paragraphs: list[str] = []
    # Footnotes, endnotes and comments, listed as removed as a Word file's are (probe AB10); not those inside
    # tracked deletions (probe AC).
    notes: dict[object, list[str]] = {}
    if body is not None:
        for element in body.iter(f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"):
            outside = [ancestor for ancestor in element.iterancestors() if ancestor.tag in _ODF_NOT_BODY]
            if not outside:
                paragraphs.append(_odf_text(element))
            elif not any(ancestor.tag == _ODF_TRACKED for ancestor in outside):
                notes.setdefault(outside[0], []).append(_odf_text(element).strip())
    removed = [Removed(page=None, text="\n".join(text for text in texts if text),
                       reason="comment" if note.tag == _ODF_ANNOTATION else
                       "endnote" if note.get(f"{{{_ODF_TEXT}}}note-class") == "endnote" else "footnote")
               for note, texts in notes.items() if any(texts)]
    return _finish(paragraphs, "odt", removed)


# Paragraphs that are not body text: footnotes, comments, and the text of tracked changes (deleted
# text, kept only to undo the deletion). A text box's paragraphs are read once, as paragraphs of their
# own, not also inside the paragraph that anchors the box.
_ODF_NOTE, _ODF_ANNOTATION = f"{{{_ODF_TEXT}}}note", f"{{{_ODF_OFFICE}}}annotation"
_ODF_TRACKED = f"{{{_ODF_TEXT}}}tracked-changes"
_ODF_NOT_BODY = frozenset({_ODF_NOTE, _ODF_ANNOTATION, _ODF_TRACKED})
_ODF_DRAWING = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"


def _odf_text(element) -> str:
    parts: list[str] = [element.text or ""]
    for child in element:
        tag = child.tag.split("}")[-1] if isinstance(child.tag, str) else ""
        if tag == "s":
            count = child.get(f"{{{_ODF_TEXT}}}c", "1")
            parts.append(" " * (min(int(count), _MAX_SPACES) if count.isdecimal() and count.isascii() else 1))
        elif tag == "tab":
            parts.append("\t")
        elif tag == "line-break":
            parts.append("\n")
        elif tag in ("note", "annotation") or (isinstance(child.tag, str) and child.tag.startswith(f"{{{_ODF_DRAWING}}}")):
            pass  # footnotes and comments are not body text; a frame's text is read as its own paragraphs
        else:
            parts.append(_odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


# RTF's \line control word (not an escaped backslash's text "\\line"), with its delimiting space.
_LINE_BREAK = re.compile(r"(?<!\\)((?:\\\\)*)\\line(?![A-Za-z])(?:-?\d+)? ?")


def extract_rtf(data: bytes) -> ExtractedText:
    """The text of a Rich Text Format (.rtf) file, one paragraph per \\par.

    Raises:
        ExtractionError: not RTF, or no text.
    """
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise ExtractionError("not an RTF file (it does not start with {\\rtf): save it again as .rtf or .docx")
    # \line breaks a line inside a paragraph, which striprtf writes as it writes \par: each is marked
    # with a word no file holds (after an empty group, so no control word before it takes its letters).
    mark = break_mark()
    source = _without_hidden_text(data.decode("latin-1"))
    source = _LINE_BREAK.sub(lambda found: found.group(1) + "{}" + mark, source)
    try:
        text = rtf_to_text(source, errors="ignore")
    except Exception as error:  # striprtf meets damage with whatever its code hits first (\u99999999999: OverflowError)
        raise ExtractionError(f"damaged RTF ({type(error).__name__}: {str(error)[:80]}): open it in Word or LibreOffice "
                              "and save it again as .rtf or .docx") from None
    paragraphs = [paragraph for line in whole_characters(text).split("\n")
                  for paragraph in with_breaks(line, mark).split("\n\n")]
    return _finish(paragraphs, "rtf", [])


_HIDDEN_SWITCH = re.compile(r"\\v(?![a-z])")
# The pieces hidden text is made of: a control word with its delimiting space, a control symbol
# (\'hh among them), a brace, or a run of text.
_RTF_PIECE = re.compile(r"\\[a-zA-Z]{1,32}(?:-?\d{1,10})? ?|\\'[0-9a-fA-F]{2}|\\[^a-zA-Z]|[{}]|[^\\{}]+|\\")
_HIDING_WORD = re.compile(r"\\(v|plain)(-?\d+)? ?")


def _without_hidden_text(source: str) -> str:
    """RTF source without its hidden text (`\\v` ... `\\v0`, within its group; `\\plain` ends it too):
    Word hides comments' anchors, index entries and notes to self that way, and striprtf would
    write them out as text. Control words are kept, so fonts, code pages and \\uc still apply."""
    if not _HIDDEN_SWITCH.search(source):
        return source
    kept: list[str] = []
    hidden, stack = False, []
    for piece in _RTF_PIECE.findall(source):
        if piece == "{":
            stack.append(hidden)
        elif piece == "}":
            hidden = stack.pop() if stack else False
        elif piece[0] == "\\" and piece[1:2].isalpha():
            word = _HIDING_WORD.fullmatch(piece)
            if word:
                hidden = word.group(1) == "v" and word.group(2) != "0"
            elif hidden and piece.startswith("\\u") and piece[2:3] in "-0123456789":
                continue  # a hidden Unicode character (its fallback text is hidden too)
        elif hidden and piece != "\\*":
            continue
        kept.append(piece)
    return "".join(kept)


def _check_archive(data: bytes, kind: str) -> None:
    """Refuse a .docx/.odt archive that is not a zip file, or that would unpack to more than
    _MAX_UNPACKED_BYTES or hold more than _MAX_PARTS parts."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as error:
        advice = (". If it is an old .doc file, save it as .docx in Word or LibreOffice" if kind == "docx"
                  else ": save it again as .odt or .docx")
        raise ExtractionError(f"not a readable .{kind} file ({error}){advice}") from None
    unpacked = sum(part.file_size for part in parts)
    budget = min(_MAX_UNPACKED_BYTES, max(_EXPANSION_FLOOR, _MAX_EXPANSION * len(data)))
    if len(parts) > _MAX_PARTS or unpacked > budget:
        raise ExtractionError(
            f"its {len(parts):,} part(s) would unpack to {unpacked / 2**20:,.0f} MB from {len(data) / 2**20:,.1f} MB, more "
            f"than a .{kind} file holds (limits: {_MAX_PARTS:,} parts, {_MAX_UNPACKED_BYTES // 2**20} MB, and "
            f"{_MAX_EXPANSION} times the file's size past {_EXPANSION_FLOOR // 2**20} MB): not read, as a damaged or "
            f"hostile archive"
        )


def _finish(paragraphs: list[str], kind, removed: list[Removed]) -> ExtractedText:
    kept = [p.replace("\r\n", "\n").replace("\r", "\n").strip() for p in paragraphs]
    kept = [p for p in kept if p]
    if not kept:
        raise ExtractionError(f"the {kind.upper()} document has no text")
    return ExtractedText(text="\n\n".join(kept), format=kind, removed=tuple(removed))
