"""Interchange: coded segments and codebooks to and from REFI-QDA (QDA-XML 1.0: .qdpx projects, .qdc codebooks).

NVivo, ATLAS.ti, MAXQDA and QualCoder all read these files. Every GUID is derived
(uuid5) from a stable name, the document path, the code id or the segment id, so that
exporting the same run twice gives the same GUIDs and the receiving tool does not
duplicate work. Positions are Unicode code points (Python `str` indices), 0-based, end
exclusive, into the exported source text, which is `Document.text` as UTF-8 without BOM.
"""

from __future__ import annotations

import re
import stat
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree

from .codebook import MAX_CODE_DEPTH, codebook_from_tree
from .errors import CodebookError, OutputError
from .files import atomic_path, display_name, read_bytes
from .models import Code, Codebook, Document, Segment
from .segments import is_rejected

PROJECT_NAMESPACE = "urn:QDA-XML:project:1.0"
CODEBOOK_NAMESPACE = "urn:QDA-XML:codebook:1.0"
PROJECT_FILE = "project.qde"
# What `import qdc` reads at most: a codebook is kilobytes, a project's XML megabytes.
MAX_XML_BYTES = 64 * 1024 * 1024
MAX_ZIP_RATIO = 100  # unpacked / packed size of project.qde (XML packs about 5-20 times)
MAX_NAME_CHARS = 1_000
MAX_DESCRIPTION_CHARS = 100_000
_CHUNK = 1 << 20

# Fixed namespace for every derived GUID: changing it would change every GUID ever exported.
_GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/coder-qda/coder/refi-qda")
_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_RGB_COLOR = re.compile(r"rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*[\d.]+%?\s*)?\)", re.IGNORECASE)
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_GUID = re.compile(r"\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?")


def derive_guid(kind: str, name: str) -> str:
    """A stable GUID for an object of `kind` ("source", "code", "selection", ...) called `name`.

    >>> derive_guid("code", "joint_meeting") == derive_guid("code", "joint_meeting")
    True
    """
    return str(uuid.uuid5(_GUID_NAMESPACE, f"{kind}\x1f{name}"))


USER_GUID = derive_guid("user", "coder")


@dataclass(frozen=True)
class _Selection:
    document: str
    start: int
    end: int
    code: str
    segment_id: str
    note: str


def _xml_safe(text: str) -> str:
    # PDF pastes carry form feeds and other control characters that XML 1.0 cannot hold.
    return _NOT_XML.sub(" ", text)


def _timestamp(when: datetime | None) -> str:
    when = when or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _codable(codebook: Codebook, code: Code) -> bool:
    # A code that only groups its children cannot be applied in the receiving tool; a leaf
    # without keywords is still codable, because it is meant to be coded by hand.
    return not (code.is_grouping and codebook.children(code.id))


def _code_elements(parent: etree._Element, codebook: Codebook, code_id: str | None, namespace: str) -> None:
    for code in codebook.children(code_id):
        element = etree.SubElement(parent, f"{{{namespace}}}Code")
        element.set("guid", derive_guid("code", code.id))
        element.set("name", _xml_safe(code.label or code.id))
        element.set("isCodable", "true" if _codable(codebook, code) else "false")
        color = normalize_color(code.color)[0]
        if color:
            element.set("color", color.upper())  # exactly #RRGGBB, as the REFI-QDA standard writes them
        if code.description:
            etree.SubElement(element, f"{{{namespace}}}Description").text = _xml_safe(code.description)
        _code_elements(element, codebook, code.id, namespace)


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True, standalone=True)


def build_qdc(codebook: Codebook, *, origin: str = "coder") -> bytes:
    """The codebook as a REFI-QDA codebook file (.qdc, namespace urn:QDA-XML:codebook:1.0).

    >>> xml = build_qdc(Codebook(codes=(Code(id="a", label="A", path=("a",), keywords=("x",)),)))
    >>> b'name="A"' in xml
    True
    """
    if not len(codebook):
        raise CodebookError("the codebook has no codes; a REFI-QDA codebook needs at least one. Add codes under `codes:`.")
    root = etree.Element(f"{{{CODEBOOK_NAMESPACE}}}CodeBook", nsmap={None: CODEBOOK_NAMESPACE})
    root.set("origin", origin)
    codes = etree.SubElement(root, f"{{{CODEBOOK_NAMESPACE}}}Codes")
    _code_elements(codes, codebook, None, CODEBOOK_NAMESPACE)
    return _serialize(root)


def _selections(segments: pd.DataFrame | Iterable[Segment]) -> list[_Selection]:
    if isinstance(segments, pd.DataFrame):
        missing = [column for column in ("document", "start", "end", "code") if column not in segments.columns]
        if missing:
            raise OutputError(
                f"segments: missing column(s) {', '.join(missing)}. Pass the segments.csv written by `coder run`."
            )
        rows: list[_Selection] = []
        names = list(segments.columns)
        # A row at a time (a dict per row of a 430,000-segment run at once took a few hundred MB).
        for number, values in enumerate(segments.itertuples(index=False, name=None), start=2):
            row = dict(zip(names, values))
            if is_rejected(row.get("review", "")):
                continue
            try:
                start, end = int(row["start"]), int(row["end"])
            except (TypeError, ValueError):
                raise OutputError(
                    f"segments line {number}: start/end '{row['start']}'/'{row['end']}' are not whole numbers. "
                    f"Run `coder run` again to rewrite segments.csv."
                )
            identifier = str(row.get("segment_id") or "") or f"{row['document']}:{start}:{end}:{row['code']}"
            rows.append(_Selection(str(row["document"]), start, end, str(row["code"]), identifier, str(row.get("note") or "").strip()))
        return rows
    return [_Selection(s.document, s.start, s.end, s.code, s.segment_id, "") for s in segments]


def build_project(
    documents: Sequence[Document],
    codebook: Codebook,
    segments: pd.DataFrame | Iterable[Segment],
    *,
    project_name: str = "coder project",
    created: datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The project.qde XML and the exported sources ({"sources/<guid>.txt": text}).

    Rejected segments (review says reject/no/0/false) are left out; an accepted segment's
    note becomes the Description of its PlainTextSelection.
    """
    parts, files = _project_parts(documents, codebook, segments, project_name=project_name, created=created)
    return b"".join(parts), files


_SOURCES_MARK = "coder: the sources go here"


def _project_parts(
    documents: Sequence[Document],
    codebook: Codebook,
    segments: pd.DataFrame | Iterable[Segment],
    *,
    project_name: str,
    created: datetime | None,
) -> tuple[Iterator[bytes], dict[str, str]]:
    """build_project()'s XML in pieces, one TextSource at a time (each built, serialized and let go: the
    whole tree of a 430,000-segment run was 237 MB of XML and 2.4 GB in memory), and its sources.
    The selections are checked before the first piece."""
    when = _timestamp(created)
    selections = _selections(segments)
    _check_selections(selections, documents, codebook)
    by_document: dict[str, list[_Selection]] = {}
    for selection in selections:
        by_document.setdefault(selection.document, []).append(selection)
    del selections
    files = {f"sources/{derive_guid('source', document.path)}.txt": document.text for document in documents}

    def pieces() -> Iterator[bytes]:
        root = _project_root(codebook, project_name=project_name, when=when)
        if not documents:
            yield _serialize(root)
            return
        sources = etree.SubElement(root, f"{{{PROJECT_NAMESPACE}}}Sources")
        sources.append(etree.Comment(_SOURCES_MARK))
        head, tail = _serialize(root).split(f"<!--{_SOURCES_MARK}-->".encode())
        yield head.rstrip(b" ")
        seen: Counter[str] = Counter()
        declaration = f' xmlns="{PROJECT_NAMESPACE}"'.encode()
        for document in documents:
            holder = etree.Element(f"{{{PROJECT_NAMESPACE}}}Sources", nsmap={None: PROJECT_NAMESPACE})
            _source_element(holder, document, by_document.pop(document.path, []),
                            guid=derive_guid("source", document.path), seen=seen, when=when)
            etree.indent(holder, level=1)
            for source in holder:
                # (serialized alone, it declares the namespace its ancestors declare already)
                yield b"    " + etree.tostring(source, encoding="utf-8", with_tail=False).replace(declaration, b"", 1) + b"\n"
        yield b"  " + tail.lstrip(b" \n")

    return pieces(), files


def _check_selections(selections: list[_Selection], documents: Sequence[Document], codebook: Codebook) -> None:
    """Raise one OutputError listing every selection outside its document or naming an unknown code."""
    by_path = {document.path: document for document in documents}
    problems: list[str] = []
    for selection in selections:
        document = by_path.get(selection.document)
        if document is None:
            problems.append(f"segment {selection.segment_id}: document '{selection.document}' is not in the corpus")
        elif not 0 <= selection.start <= selection.end <= len(document.text):
            problems.append(
                f"segment {selection.segment_id}: span {selection.start}-{selection.end} is outside "
                f"'{selection.document}' ({len(document.text)} characters)"
            )
        if selection.code not in codebook:
            problems.append(f"segment {selection.segment_id}: code '{selection.code}' is not in the codebook")
    if problems:
        shown = problems[:10] + ([f"... and {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise OutputError(
            "the segments do not fit the corpus and codebook (did they change since the run?):\n  "
            + "\n  ".join(shown)
            + "\nRun `coder run` again, then export."
        )


def _project_root(codebook: Codebook, *, project_name: str, when: str) -> etree._Element:
    """The Project element with its user and codebook, before any source."""
    ns = PROJECT_NAMESPACE
    root = etree.Element(f"{{{ns}}}Project", nsmap={None: ns})
    root.set("name", _xml_safe(project_name))
    root.set("origin", "coder")
    root.set("creatingUserGUID", USER_GUID)
    root.set("creationDateTime", when)
    users = etree.SubElement(root, f"{{{ns}}}Users")
    user = etree.SubElement(users, f"{{{ns}}}User")
    user.set("guid", USER_GUID)
    user.set("name", "coder")
    if len(codebook):
        codes = etree.SubElement(etree.SubElement(root, f"{{{ns}}}CodeBook"), f"{{{ns}}}Codes")
        _code_elements(codes, codebook, None, ns)
    return root


def _source_element(
    sources: etree._Element, document: Document, selections: list[_Selection], *, guid: str, seen: Counter[str], when: str
) -> None:
    """One TextSource with a PlainTextSelection and Coding per selection, in text order."""
    ns = PROJECT_NAMESPACE
    source = etree.SubElement(sources, f"{{{ns}}}TextSource")
    source.set("guid", guid)
    source.set("name", _xml_safe(document.path))
    source.set("plainTextPath", f"internal://{guid}.txt")
    source.set("creatingUser", USER_GUID)
    source.set("creationDateTime", when)
    if document.is_extracted:
        # The source is the extracted text; the name keeps the original file's name.
        pages = f", {len(document.pages)} pages" if document.pages else ""
        etree.SubElement(source, f"{{{ns}}}Description").text = _xml_safe(
            f"Text extracted by coder from {document.path} ({document.format.upper()}{pages}); "
            f"positions refer to this text."
        )
    for selection in sorted(selections, key=lambda s: (s.start, s.end, s.code)):
        # Identical passages in one document share a segment id; the occurrence count keeps GUIDs unique.
        seen[selection.segment_id] += 1
        key = selection.segment_id if seen[selection.segment_id] == 1 else f"{selection.segment_id}#{seen[selection.segment_id]}"
        element = etree.SubElement(source, f"{{{ns}}}PlainTextSelection")
        element.set("guid", derive_guid("selection", key))
        element.set("name", " ".join(_xml_safe(document.text[selection.start:selection.end][:60]).split()) or selection.code)
        element.set("startPosition", str(selection.start))
        element.set("endPosition", str(selection.end))
        element.set("creatingUser", USER_GUID)
        element.set("creationDateTime", when)
        if selection.note:
            etree.SubElement(element, f"{{{ns}}}Description").text = _xml_safe(selection.note)
        coding = etree.SubElement(element, f"{{{ns}}}Coding")
        coding.set("guid", derive_guid("coding", key))
        coding.set("creatingUser", USER_GUID)
        coding.set("creationDateTime", when)
        etree.SubElement(coding, f"{{{ns}}}CodeRef").set("targetGUID", derive_guid("code", selection.code))


def _write_atomically(path: Path, write: Any) -> None:
    with atomic_path(path) as temporary:
        write(temporary)


def write_bytes_atomically(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file, so a crash never leaves half a file."""
    _write_atomically(Path(path), lambda temporary: temporary.write_bytes(data))


def build_qdpx(
    documents: Sequence[Document],
    codebook: Codebook,
    segments: pd.DataFrame | Iterable[Segment],
    *,
    path: str | Path,
    project_name: str = "coder project",
    created: datetime | None = None,
) -> Path:
    """Write a REFI-QDA project (.qdpx: project.qde plus sources/<guid>.txt) and return its path.

    >>> build_qdpx(corpus.documents, codebook, read_segments("outputs/segments.csv"),
    ...            path="outputs/project.qdpx")  # doctest: +SKIP
    """
    parts, files = _project_parts(documents, codebook, segments, project_name=project_name, created=created)

    def write(temporary: Path) -> None:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open(PROJECT_FILE, "w", force_zip64=True) as stream:
                for part in parts:
                    stream.write(part)
            for name, text in files.items():
                archive.writestr(name, text.encode("utf-8"))

    path = Path(path)
    _write_atomically(path, write)
    return path


# ---------------------------------------------------------------------------------- import


def normalize_color(value: str | None) -> tuple[str | None, str | None]:
    """A colour as exactly "#rrggbb" (or None), and a note when it had to be changed.

    Accepts "#rgb", "#rrggbb", "#rrggbbaa" (alpha dropped), hex without "#", and
    "rgb(r, g, b)"/"rgba(...)".

    >>> normalize_color("rgb(31, 119, 180)")
    ('#1f77b4', "colour 'rgb(31, 119, 180)' written as #1f77b4")
    >>> normalize_color("#1F77B4")
    ('#1f77b4', None)
    """
    if value is None or not str(value).strip():
        return None, None
    text = str(value).strip()
    match = _HEX_COLOR.fullmatch(text)
    if match:
        digits = match.group(1).lower()
        if len(digits) == 3:
            digits = "".join(2 * digit for digit in digits)
        elif len(digits) == 8:
            digits = digits[:6]
        color = f"#{digits}"
        changed = len(match.group(1)) != 6 or not text.startswith("#")
        return color, (f"colour '{text}' written as {color}" if changed else None)
    match = _RGB_COLOR.fullmatch(text)
    if match and all(int(part) <= 255 for part in match.groups()):
        color = "#" + "".join(f"{int(part):02x}" for part in match.groups())
        return color, f"colour '{text}' written as {color}"
    return None, f"colour '{text}' is not a colour coder understands; left out"


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if _local(child) == name]


def _read_xml_bytes(path: Path) -> bytes:
    """The XML of a .qdc file, or of the project.qde inside a .qdpx zip, within MAX_XML_BYTES.

    A zip member's declared size and packing ratio are checked before it is read, and it is read
    in bounded chunks: a small zip bomb never unpacks into memory.
    """
    try:
        status = path.stat()
    except OSError:
        status = None  # read_bytes says what is wrong
    if status is not None and not stat.S_ISREG(status.st_mode) and not stat.S_ISDIR(status.st_mode):
        # /dev/zero took 23 GB before it was stopped; a pipe waits for ever.
        raise CodebookError(f"{display_name(path)}: not a regular file (a device or a pipe). Pass the path of a .qdc "
                            f"codebook or .qdpx project.")
    size = status.st_size if status is not None else 0
    if not zipfile.is_zipfile(path):
        if size > MAX_XML_BYTES:
            raise CodebookError(f"{path}: {size:,} bytes, more than the {MAX_XML_BYTES:,} a codebook may have. "
                                f"Is it a REFI-QDA codebook (.qdc)?")
        return read_bytes(path, error=CodebookError, missing="file not found. Pass the path of a .qdc codebook or .qdpx project.",
                          what="a codebook or project")
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if info.filename.lower().endswith(".qde")]
            if not members:
                raise CodebookError(f"{path}: a zip file without a project.qde inside; is it a REFI-QDA project (.qdpx)?")
            # The standard's name first: another .qde (a backup inside the zip) only when it is missing.
            info = next((member for member in members if member.filename.lower() == "project.qde"), members[0])
            packed = max(info.compress_size, 1)
            if info.file_size > MAX_XML_BYTES or (info.file_size > _CHUNK and info.file_size > MAX_ZIP_RATIO * packed):
                raise CodebookError(
                    f"{path}: {info.filename} would unpack to {info.file_size:,} bytes from {info.compress_size:,} "
                    f"(at most {MAX_XML_BYTES:,} bytes, {MAX_ZIP_RATIO} times its packed size); not read. "
                    f"Export the project again from the other tool.")
            chunks, total = [], 0
            with archive.open(info) as member:
                while chunk := member.read(_CHUNK):
                    total += len(chunk)
                    if total > MAX_XML_BYTES:
                        raise CodebookError(f"{path}: {info.filename} unpacks to more than {MAX_XML_BYTES:,} bytes; not read.")
                    chunks.append(chunk)
            return b"".join(chunks)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise CodebookError(f"{path}: damaged zip file ({error}). Export the project again.")
    except OSError as error:
        raise CodebookError(f"{path}: cannot read it ({error.strerror or error}).")


def _read_xml_root(path: Path) -> etree._Element:
    data = _read_xml_bytes(path)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = f":{error.lineno}" if error.lineno else ""
        raise CodebookError(f"{path}{line}: not well-formed XML ({error.msg}). Export the codebook again from the other tool.")


def _codebook_parts(path: Path) -> tuple[etree._Element, list[etree._Element]]:
    """The <Codes> element (with at least one <Code>) and the <Set>s of a codebook or of a project's."""
    root = _read_xml_root(path)
    holders = [root]  # a project keeps its <Sets> beside its <CodeBook>
    if _local(root) == "Project":
        books = _children(root, "CodeBook")
        if not books:
            raise CodebookError(f"{path}: the project has no <CodeBook>; nothing to import.")
        root = books[0]
        holders.append(root)
    if _local(root) != "CodeBook":
        raise CodebookError(
            f"{path}: root element is <{_local(root)}>, not <CodeBook>. Pass a REFI-QDA codebook (.qdc) or project (.qdpx)."
        )
    codes_elements = _children(root, "Codes")
    if not codes_elements or not _children(codes_elements[0], "Code"):
        raise CodebookError(f"{path}: the codebook has no <Code> elements; nothing to import.")
    sets = [element for holder in holders for group in _children(holder, "Sets") for element in _children(group, "Set")]
    return codes_elements[0], sets


def _check_code(path: Path, element: etree._Element, label: str, where: str, depth: int) -> None:
    """Refuse a code nested deeper than MAX_CODE_DEPTH, or with an oversized name or description."""
    short = label if len(label) <= 60 else label[:60] + "..."
    if depth > MAX_CODE_DEPTH:
        raise CodebookError(f"{path}: code '{short}' is nested more than {MAX_CODE_DEPTH} levels deep. "
                            f"Flatten the code hierarchy in the other tool and export again.")
    if len(label) > MAX_NAME_CHARS:
        raise CodebookError(f"{path}: a code name of {len(label):,} characters ('{short}', in {where}); "
                            f"at most {MAX_NAME_CHARS:,}. Shorten it in the other tool and export again.")
    descriptions = _children(element, "Description")
    if descriptions and sum(len(text) for text in descriptions[0].itertext()) > MAX_DESCRIPTION_CHARS:
        raise CodebookError(f"{path}: code '{short}' has a description longer than {MAX_DESCRIPTION_CHARS:,} "
                            f"characters. Shorten it in the other tool and export again.")


def shared_sibling_labels(codebook: Codebook) -> list[str]:
    """Codes under one parent that share a label, a line each: a REFI-QDA codebook names codes by
    their label, and the other tool may take them for one code."""
    seen: dict[tuple[str | None, str], list[str]] = {}
    for code in codebook:
        seen.setdefault((code.parent, code.label.casefold()), []).append(code.id)
    return [f"codes {', '.join(repr(display_name(code)) for code in ids)} share the label "
            f"'{display_name(codebook[ids[0]].label)}' under {repr(display_name(parent)) if parent else 'the top level'}: "
            f"the other tool may merge them. Give each its own label."
            for (parent, _), ids in seen.items() if len(ids) > 1]


def read_qdc(path: str | Path) -> tuple[Codebook, list[str]]:
    """Read a REFI-QDA codebook (.qdc, or the codebook of a .qdpx project) into a keyword-less Codebook.

    Lenient with what real tools write (uppercase or braced GUIDs, missing or 8-digit or
    rgb() colours, repeated names); returns the codebook and a list of what was adjusted.

    >>> codebook, adjustments = read_qdc("exported.qdc")  # doctest: +SKIP
    """
    path = Path(path)
    codes_element, sets = _codebook_parts(path)
    adjustments: list[str] = []
    if sets:  # ATLAS.ti's code groups: no codebook.yaml counterpart, but not to be lost without a word
        names = ", ".join(f"'{(element.get('name') or '').strip()[:60]}'" for element in sets[:5]) + (" ..." if len(sets) > 5 else "")
        adjustments.append(f"{len(sets)} code set(s) ({names}) are not imported: a codebook.yaml has no sets; put "
                           f"their codes under a parent code instead")
    guids: Counter[str] = Counter()
    counts = {"guid": 0, "no_color": 0}

    def convert(element: etree._Element, where: str, depth: int) -> dict[str, Any]:
        name = (element.get("name") or "").strip()
        if MAX_NAME_CHARS < len(name) <= MAX_DESCRIPTION_CHARS:  # `export qdc` writes the labels a codebook has
            adjustments.append(f"{where}: a code name of {len(name):,} characters ('{name[:60]}...') cut to "
                               f"{MAX_NAME_CHARS:,}; the whole name is kept as the start of its description")
            element_description = f"{name}\n\n"
            name = name[:MAX_NAME_CHARS].strip()
        else:
            element_description = ""
        label = name or "(unnamed)"
        _check_code(path, element, label, where, depth)
        if not name:
            adjustments.append(f"{where}: a code without a name, imported as '(unnamed)'")
        raw_guid = (element.get("guid") or "").strip()
        match = _GUID.fullmatch(raw_guid)
        if match:
            if raw_guid != match.group(1).lower():
                counts["guid"] += 1
            guids[match.group(1).lower()] += 1
        else:
            adjustments.append(f"code '{label}': GUID '{raw_guid}' is not a GUID; ignored")
        color, note = normalize_color(element.get("color"))
        if note:
            adjustments.append(f"code '{label}': {note}")
        if element.get("color") is None:
            counts["no_color"] += 1
        descriptions = _children(element, "Description")
        description = (element_description + ("".join(descriptions[0].itertext()).strip() if descriptions else "")).strip()
        return {
            "name": label,
            "description": description,
            "color": color,
            "children": [convert(child, f"{where} > {label}", depth + 1) for child in _children(element, "Code")],
        }

    tree = [convert(element, str(path.name), 1) for element in _children(codes_element, "Code")]
    if counts["guid"]:
        adjustments.append(f"{counts['guid']} GUID(s) were upper case or in braces; accepted")
    for guid, count in sorted(guids.items()):
        if count > 1:
            adjustments.append(f"GUID {guid} is used by {count} codes; they are imported as separate codes")
    if counts["no_color"]:
        adjustments.append(f"{counts['no_color']} code(s) have no colour; coder picks one when drawing the network")
    codebook, id_report = codebook_from_tree(tree, name=path.stem)
    return codebook, adjustments + id_report


@dataclass(frozen=True)
class QdpxExport:
    """What `export_run_qdpx` wrote: the file and how much went into it."""

    path: Path
    documents: int
    codes: int
    selections: int
    rejected: int


def export_run_qdpx(segments_path: str | Path, *, path: str | Path, project_name: str | None = None) -> QdpxExport:
    """Export a `coder run` folder (segments.csv + run.json beside it) as a .qdpx project.

    The documents are read again from the run's corpus (extracted documents from the texts the
    run kept in texts/) and the codebook is the one the run used (from run.json), so positions
    and codes match the segments.

    >>> export_run_qdpx("outputs/segments.csv", path="outputs/project.qdpx").selections  # doctest: +SKIP
    """
    from .runs import RunFolder

    run = RunFolder.of_segments(segments_path)
    # (only what a selection needs: a Parquet-only run's texts and labels are most of its size in memory)
    frame = run.read_segments(columns=["segment_id", "document", "start", "end", "code", "review", "note"])
    record = run.record()
    if not record.corpus or not record.codebook_codes:
        raise OutputError(f"{run.run_path}: no corpus path or codebook recorded. Run `coder run` again, then export.")
    corpus = run.read_corpus()
    run.refuse_changed_corpus(list(corpus.documents), why="the export places each segment by the run's offsets")
    codebook = run.stored_codebook(name=Path(record.codebook).stem)
    rejected = int(sum(is_rejected(value) for value in frame.get("review", [])))
    written = build_qdpx(
        corpus.documents, codebook, frame, path=path,
        project_name=project_name or f"{Path(record.corpus).name or 'corpus'} (coder)",
    )
    return QdpxExport(written, len(corpus.documents), len(codebook), len(frame) - rejected, rejected)
