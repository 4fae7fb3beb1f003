"""Stage 1: load, validate and convert the codebook (YAML, plain records, trees) into a Codebook (no spaCy here)."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import CodebookError, CoderError
from .files import display_name, read_bytes, write_text
from .imports import LazyPattern
from .models import CODED_KINDS, MORPHOLOGIES, PASSAGE_KINDS, UNITS, Code, Codebook, Rule
from .regexes import RegexProblem, compile_regex

# What one keyword (or exclude phrase) may be: the automaton's cost grows with the square of a
# keyword's length (30,000 characters took 27 s) and the word trie's depth with its words.
MAX_KEYWORD_CHARACTERS = 1_000
MAX_KEYWORD_WORDS = 100
MAX_WITHIN = 1_000_000  # words between a `near` rule's two words
TOP_LEVEL_KEYS = ("name", "description", "unit", "language", "code_kinds", "skip_kinds", "morphology", "codes")
CODE_KEYS = ("label", "description", "color", "keywords", "regex", "exclude", "morphology", "rules", "codes")
RULE_KINDS = ("near", "all")
RULE_KEYS = (*RULE_KINDS, "within", "not")
_CJK_TEXT = LazyPattern("[\u2e80-\u2fdf\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # 2 ms to compile: on first use
# Deepest YAML nesting read (a code at level n sits about 2n deep), and deepest code hierarchy an
# importer builds: recursive readers and writers stop far below Python's recursion limit.
MAX_YAML_DEPTH = 100
MAX_CODE_DEPTH = 40
# Characters no label, description or keyword may hold (tab, line feed and carriage return may): NUL and
# the C0 controls, which CSV readers and XML refuse, and the noncharacters U+FFFE and U+FFFF.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_OTHER_LINE_BREAKS = re.compile("[\x85\u2028\u2029]")  # YAML 1.1 line breaks besides CR and LF


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook file, reporting every problem at once.

    >>> codebook = load_codebook("codebook.yaml")  # doctest: +SKIP
    >>> codebook["joint_meeting"].keywords  # doctest: +SKIP
    ('joint meeting', ...)
    """
    path = Path(path)
    # At most MAX_CODEBOOK_BYTES: /dev/zero, or a pipe that never ends, is not read forever.
    data = read_bytes(path, error=CodebookError, missing="codebook not found. Pass an existing file with --codebook.",
                      limit=MAX_CODEBOOK_BYTES, what="a codebook")
    if len(data) >= 4 and (data[1::2].count(0) > len(data) // 4 or data[0::2].count(0) > len(data) // 4):
        # UTF-16 without a byte order mark decodes as UTF-8 with a NUL every other byte: the YAML error named
        # no line (probe N9)
        raise CodebookError(f"{path}: saved as UTF-16 (a zero byte every other byte), not UTF-8. Save the codebook "
                            f"as UTF-8 (in Notepad: Save As, Encoding UTF-8).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # Notepad's "ANSI" (Windows-1252, GBK): the line, not a byte offset, as every codebook error (probe AH8)
        line, column = _line_and_column(data[:error.start].decode("utf-8-sig"))
        raise CodebookError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[error.start]:02X} in column {column}; saved in another "
            f"encoding, such as Notepad's \"ANSI\"). Save the codebook as UTF-8 (in Notepad: Save As, Encoding "
            f"UTF-8).") from None
    # Old DOS editors end a file with Ctrl-Z (0x1A), which YAML refuses as a character
    # (after it, or before a last line break: probe AJ7)
    end = text.rstrip("\r\n")
    return parse_codebook(end.rstrip("\x1a") + text[len(end):] if end.endswith("\x1a") else text, source=str(path))


def _line_and_column(before: str) -> tuple[int, int]:
    """The line and column (from 1) of the character after `before`, as YAML counts lines."""
    lines = re.split("\r\n|\r|\n|\x85|\u2028|\u2029", before)
    return len(lines), len(lines[-1]) + 1


MAX_CODEBOOK_BYTES = 64 * 1024 * 1024  # a codebook of a million keywords is about 20 MB


def parse_codebook(text: str, *, source: str = "<codebook>") -> Codebook:
    """Validate codebook YAML given as a string; `source` names it in error messages."""
    return _parse_with_libyaml(text, source=source) or _parse_with_python(text, source=source)


def _parse_with_libyaml(text: str, *, source: str) -> Codebook | None:
    """The codebook read by libyaml (PyYAML's C parser, ten times the pure-Python one's speed), when
    it is installed and finds nothing wrong; else None, and `_parse_with_python` reads it again to
    explain every problem in its own words and lines. Texts with line breaks beyond CR and LF are
    left to it too, so every code's line is counted one way."""
    if not getattr(yaml, "__with_libyaml__", False) or _OTHER_LINE_BREAKS.search(text):
        return None
    try:
        check_yaml_shape(text, source=source, loader=yaml.CSafeLoader)
        return _Validator(source).codebook(yaml.compose(text, Loader=yaml.CSafeLoader))
    except (yaml.YAMLError, CoderError, ValueError):  # ValueError: text UTF-8 cannot hold (lone surrogates)
        return None


def _parse_with_python(text: str, *, source: str) -> Codebook:
    check_yaml_shape(text, source=source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        started = ""
        if error.context_mark and mark and error.context_mark.line != mark.line and error.context:
            started = f" It starts on line {error.context_mark.line + 1} ({error.context})."
        raise CodebookError(f"{source}{line}: YAML syntax error: {_explain_yaml(problem)}{started}")
    except yaml.reader.ReaderError as error:  # a control character: its position, without a line, said nothing
        line, column = _line_and_column(text[:error.position])
        raise CodebookError(f"{source}:{line}: the character U+{error.character:04X} (column {column}) is a control "
                            f"character YAML does not allow. Delete it.") from None
    except yaml.YAMLError as error:
        raise CodebookError(f"{source}: YAML syntax error: {error}")
    return _Validator(source).codebook(root)


# Tags of a type beyond text (Python objects, bytes, a tag of one's own): `!!str` and the like stay.
_REFUSED_TAGS = ("!", "tag:yaml.org,2002:python", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:set",
                 "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs", "tag:yaml.org,2002:timestamp")


def check_yaml_shape(text: str, *, source: str, aliases: bool = True, loader: Any = yaml.SafeLoader) -> None:
    """Refuse YAML nested deeper than MAX_YAML_DEPTH (and, unless `aliases`, any `*alias`) before a
    recursive parser or loader sees it: the event stream is read without recursion.

    Syntax errors are left to the parser proper, which explains them.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise CodebookError(
                        f"{source}:{event.start_mark.line + 1}: nested more than {MAX_YAML_DEPTH} levels deep. "
                        f"Flatten the hierarchy to fewer levels.")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent) and not aliases:
                raise CodebookError(
                    f"{source}:{event.start_mark.line + 1}: a YAML alias (*{event.anchor}) repeats other entries; "
                    f"aliases are not accepted here. Write the entries out in full.")
            if str(getattr(event, "tag", None) or "").startswith(_REFUSED_TAGS):
                # `!!python/object/apply:os.system [...]` loaded as a keyword list, in silence (nothing ran:
                # the safe loader); a tag is no text a codebook needs (probe N9)
                raise CodebookError(
                    f"{source}:{event.start_mark.line + 1}: a YAML tag ({event.tag}) marks a value as a type; a "
                    f"codebook holds text only. Remove the tag, or put the value in quotes.")
    except yaml.YAMLError:
        return


_YAML_HINTS = (
    ("expected <block end>", "this line's indentation does not line up with the lines above it"),
    ("expected ',' or ']'", "a `[` list is not closed with `]`"),
    ("expected ',' or '}'", "a `{` mapping is not closed with `}`"),
    ("mapping values are not allowed", "a `:` inside a value; put the value in quotes"),
    ("found character '\\t'", "a tab character; indent with spaces"),
    ("found undefined alias", "`*` at the start of a value; put the value in quotes"),
    ("while scanning a quoted scalar", "a quote is not closed"),
)


def _explain_yaml(problem: str) -> str:
    for marker, hint in _YAML_HINTS:
        if marker in problem:
            return f"{hint} ({problem})."
    return f"{problem}. Check indentation, colons and quotes."


def codebook_hash(path: str | Path) -> str:
    """sha256 of the codebook file's bytes, recorded in run.json."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class _Validator:
    """Walks the YAML node tree (which keeps line numbers) and collects every problem."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []
        self.codes: list[Code] = []
        self.seen: dict[str, int] = {}
        self.morphology = "inflectional"

    def fail(self, node: yaml.Node | None, message: str) -> None:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        self.problems.append(f"{self.source}{line}: {message}")

    def codebook(self, root: yaml.Node | None) -> Codebook:
        if root is None:
            raise CodebookError(f"{self.source}: the codebook is empty. Add a `codes:` mapping.")
        if not isinstance(root, yaml.MappingNode):
            raise CodebookError(f"{self.source}:{root.start_mark.line + 1}: the codebook must be a mapping with a `codes:` key.")
        fields = self.mapping(root, TOP_LEVEL_KEYS, where="codebook")
        name = self.scalar(fields.get("name"), "name", where="codebook") or ""
        self.scalar(fields.get("description"), "description", where="codebook")
        self.languages(fields.get("language"))
        unit = self.scalar(fields.get("unit"), "unit", where="codebook") or "paragraph"
        if unit not in UNITS:
            self.fail(fields["unit"], f"unit '{unit}' is not one of {', '.join(UNITS)}.")
            unit = "paragraph"
        code_kinds = self.code_kinds(fields)
        self.morphology = self.morphology_of(fields.get("morphology"), where="codebook") or "inflectional"
        codes_node = fields.get("codes")
        if codes_node is None:
            self.fail(root, "no `codes:` key. List the codebook's codes under `codes:`.")
        else:
            self.code_tree(codes_node, parents=())
        if self.problems:
            raise CodebookError(self.problems)
        return Codebook(codes=tuple(self.codes), name=name, unit=unit, source=self.source,  # type: ignore[arg-type]
                        code_kinds=code_kinds)

    def languages(self, node: yaml.Node | None) -> None:
        """`language:` is a note for people (matching reads English and Chinese by script): a name or
        a list of names, checked so that a misplaced mapping or code is reported, not ignored."""
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self.scalar(item, "language", where="codebook")
        else:
            self.scalar(node, "language", where="codebook")

    def code_kinds(self, fields: dict[str, yaml.Node]) -> tuple[str, ...]:
        """The passage kinds to code, from `code_kinds:` (those) or `skip_kinds:` (all but those)."""
        if "code_kinds" in fields and "skip_kinds" in fields:
            self.fail(fields["skip_kinds"], "codebook: give `code_kinds` or `skip_kinds`, not both.")
            return CODED_KINDS
        key = "code_kinds" if "code_kinds" in fields else "skip_kinds" if "skip_kinds" in fields else None
        if key is None:
            return CODED_KINDS
        kinds = []
        listed = self.string_list(fields[key], key, where="codebook")
        for kind, item in listed:
            if kind not in PASSAGE_KINDS:
                hint = difflib.get_close_matches(kind, PASSAGE_KINDS, n=1)
                suggestion = f"Did you mean '{hint[0]}'? " if hint else ""
                self.fail(item, f"codebook: `{key}`: unknown passage kind '{kind}'. {suggestion}"
                                f"Passage kinds: {', '.join(PASSAGE_KINDS)}.")
            else:
                kinds.append(kind)
        if key == "skip_kinds":
            return tuple(kind for kind in PASSAGE_KINDS if kind not in kinds)
        if not listed:  # `code_kinds:` with every item commented out codes nothing
            self.fail(fields[key], f"codebook: `code_kinds` is empty, so no passage would be coded. List the kinds "
                                   f"to code ({', '.join(CODED_KINDS)} by default), or remove the key.")
        return tuple(kind for kind in PASSAGE_KINDS if kind in kinds)

    def mapping(self, node: yaml.MappingNode, allowed: tuple[str, ...], *, where: str) -> dict[str, yaml.Node]:
        fields: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                self.fail(key_node, f"{where}: keys must be plain names.")
            elif key in fields:
                self.fail(key_node, f"{where}: key '{key}' appears twice.")
            elif key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                suggestion = f" Did you mean '{hint[0]}'?" if hint else f" Allowed keys: {', '.join(allowed)}."
                self.fail(key_node, f"{where}: unknown key '{key}'.{suggestion}")
            else:
                fields[key] = value_node
        return fields

    def scalar(self, node: yaml.Node | None, key: str, *, where: str) -> str | None:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, f"{where}: `{key}` must be a single value, not a list or mapping.")
            return None
        return self.storable(node, str(node.value).strip(), key, where=where)

    def storable(self, node: yaml.Node, text: str, key: str, *, where: str) -> str | None:
        """`text`, unless it holds a lone surrogate (a "\\ud800" escape), which no output file can store, or
        a control character (a "\\x01" escape), which CSV readers and the report's SVG choke on."""
        surrogate = re.search("[\ud800-\udfff]", text)
        if surrogate is not None:
            self.fail(node, f"{where}: `{key}` holds a lone surrogate (\\u{ord(surrogate.group()):04x}), which no "
                            f"file can store. Remove that escape.")
            return None
        control = CONTROL_CHARACTER.search(text)
        if control is not None:
            self.fail(node, f"{where}: `{key}` holds the control character U+{ord(control.group()):04X}, which "
                            f"outputs cannot show. Remove that escape (a tab or a line break may stay).")
            return None
        return text

    def string_list(self, node: yaml.Node | None, key: str, *, where: str) -> list[tuple[str, yaml.Node]]:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return []
        if not isinstance(node, yaml.SequenceNode):
            example = f"{key}: [{node.value}]" if isinstance(node, yaml.ScalarNode) else f"{key}: [first, second]"
            self.fail(node, f"{where}: `{key}` must be a list. Wrap it in brackets, for example `{example}`.")
            return []
        items = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or item.tag.endswith(":null") or not str(item.value).strip():
                self.fail(item, f"{where}: every entry of `{key}` must be a non-empty text.")
                continue
            text = self.storable(item, str(item.value).strip(), key, where=where)
            if text is not None:
                items.append((text, item))
        return items

    def keywords(self, node: yaml.Node | None, *, where: str, key: str = "keywords") -> tuple[str, ...]:
        keywords = self.string_list(node, key, where=where)
        noun = {"keywords": "keyword", "exclude": "exclude phrase"}.get(key, f"word of `{key}`")
        for keyword, item in keywords:
            if len(keyword) > MAX_KEYWORD_CHARACTERS or len(keyword.split()) > MAX_KEYWORD_WORDS:
                self.fail(item, f"{where}: an entry of `{key}` of {len(keyword):,} characters and {len(keyword.split()):,} "
                                f"words: at most {MAX_KEYWORD_CHARACTERS} characters and {MAX_KEYWORD_WORDS} words. "
                                f"A long passage is no keyword; use a `near` or `all` rule, or a regex.")
            elif re.fullmatch(r"[\s*~\-]+", keyword):
                self.fail(item, f"{where}: {noun} '{keyword}' has no word in it, only `*`, `~` or `-`: write the word, "
                                f"as in 'govern*' or '~cooperate'.")
            elif re.search(r"\*\S", keyword) or "*" in keyword.replace("~", "").split():
                self.fail(item, f"{where}: {noun} '{keyword}': `*` is only allowed at the end of a word, as in 'govern*'.")
            elif "~" in keyword[1:] or (keyword.startswith("~") and _CJK_TEXT.search(keyword)):
                self.fail(item, f"{where}: {noun} '{keyword}': `~` (derivations) goes once, before an English "
                                f"keyword, as in '~cooperate'.")
        return tuple(text for text, _ in keywords)

    def morphology_of(self, node: yaml.Node | None, *, where: str) -> str | None:
        value = self.scalar(node, "morphology", where=where)
        if value is not None and value not in MORPHOLOGIES:
            self.fail(node, f"{where}: morphology '{value}' is not one of {', '.join(MORPHOLOGIES)}.")
            return None
        return value

    def rules(self, node: yaml.Node | None, *, where: str) -> tuple[Rule, ...]:
        """`rules:` a list of {near: [[A...], [B...]], within: N} or {all: [[A...], ...]}, each with
        an optional `not: [C...]`."""
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            return ()
        example = "rules: [{near: [[cooperat*], [mechanism, platform]], within: 5}]"
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{where}: `rules` must be a list of rules, for example `{example}`.")
            return ()
        rules = []
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                self.fail(item, f"{where}: every rule is a mapping with `near` or `all`, for example `{example}`.")
                continue
            fields = self.mapping(item, RULE_KEYS, where=f"{where} rule")
            kinds = [kind for kind in RULE_KINDS if kind in fields]
            if len(kinds) != 1:
                found = " and ".join(f"`{kind}`" for kind in kinds) or "neither `near` nor `all`"
                hint = " A `not` list goes inside the rule it limits." if "not" in fields and not kinds else ""
                self.fail(item, f"{where}: a rule has exactly one of `near` or `all` (found {found}).{hint}")
                continue
            kind = kinds[0]
            lists = self.rule_lists(fields[kind], kind, where=where)
            within = 0
            if kind == "near":
                if lists is not None and len(lists) != 2:
                    self.fail(fields[kind], f"{where}: `near` takes two lists of words, as in `near: [[cooperat*], [mechanism]]`.")
                    lists = None
                within_node = fields.get("within")
                value = self.scalar(within_node, "within", where=where)
                if value is None or not value.isdigit() or not 1 <= int(value) <= MAX_WITHIN:
                    self.fail(within_node or item, f"{where}: a `near` rule needs `within: N`, the most words (characters, "
                                                   f"for Chinese) between its two words, a whole number from 1 to {MAX_WITHIN:,}.")
                    lists = None
                else:
                    within = int(value)
            elif "within" in fields:
                self.fail(fields["within"], f"{where}: `within` belongs to a `near` rule; `all` means anywhere in the passage.")
            unless = self.keywords(fields.get("not"), where=where, key="not")
            if lists is not None:
                rules.append(Rule(kind=kind, lists=lists, within=within, unless=unless))  # type: ignore[arg-type]
        return tuple(rules)

    def rule_lists(self, node: yaml.Node, kind: str, *, where: str) -> tuple[tuple[str, ...], ...] | None:
        if not isinstance(node, yaml.SequenceNode) or not node.value or not all(
                isinstance(item, yaml.SequenceNode) for item in node.value):
            self.fail(node, f"{where}: `{kind}` takes a list of word lists, as in `{kind}: [[cooperat*, coordinat*], [mechanism]]`.")
            return None
        lists = []
        for item in node.value:
            words = self.keywords(item, where=where, key=kind)
            if not words:
                self.fail(item, f"{where}: every list of `{kind}` needs at least one word.")
                return None
            lists.append(words)
        return tuple(lists)

    def code_tree(self, node: yaml.Node, parents: tuple[str, ...]) -> None:
        where = f"code '{display_name(parents[-1])}'" if parents else "codes"
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{where}: `codes` must be a mapping of code ids to definitions.")
            return
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or not str(key_node.value).strip():
                self.fail(key_node, f"{where}: code ids must be non-empty names.")
                continue
            self.code(str(key_node.value).strip(), key_node, value_node, parents)

    def code(self, code_id: str, key_node: yaml.Node, node: yaml.Node, parents: tuple[str, ...]) -> None:
        where = f"code '{display_name(code_id)}'"
        if "/" in code_id:
            self.fail(key_node, f"{where}: '/' is not allowed in a code id (it separates code paths).")
        if code_id in self.seen:
            self.fail(key_node, f"{where}: duplicate code id (first defined on line {self.seen[code_id]}). Code ids must be unique across the codebook.")
            return
        self.seen[code_id] = key_node.start_mark.line + 1
        path = (*parents, code_id)
        line = key_node.start_mark.line + 1
        if isinstance(node, yaml.SequenceNode):  # a bare list is the code's keywords
            keywords = self.keywords(node, where=where)
            self.codes.append(Code(id=code_id, label=code_id, path=path, keywords=keywords, line=line,
                                   morphology=self.morphology))  # type: ignore[arg-type]
            return
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            self.codes.append(Code(id=code_id, label=code_id, path=path, line=line))
            return
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{where}: expected a mapping (label, description, keywords, ...) or a list of keywords.")
            return
        fields = self.mapping(node, CODE_KEYS, where=where)
        color = self.scalar(fields.get("color"), "color", where=where)
        if color is not None and not _COLOR.fullmatch(color):
            self.fail(fields["color"], f"{where}: color '{color}' is not a hex colour like \"#1f77b4\" (quote it: # starts a YAML comment).")
            color = None
        regexes = self.string_list(fields.get("regex"), "regex", where=where)
        for pattern, item in regexes:
            try:
                compile_regex(pattern)
            except RegexProblem as error:
                self.fail(item, f"{where}: invalid regex '{pattern}': {error}")
        keywords = self.keywords(fields.get("keywords"), where=where)
        morphology = self.morphology_of(fields.get("morphology"), where=where) or self.morphology
        code = Code(
            id=code_id,
            label=self.scalar(fields.get("label"), "label", where=where) or code_id,
            path=path,
            description=self.scalar(fields.get("description"), "description", where=where) or "",
            color=color.lower() if color else None,
            keywords=keywords,
            regex=tuple(text for text, _ in regexes),
            exclude=self.keywords(fields.get("exclude"), where=where, key="exclude"),
            line=line,
            morphology=morphology,  # type: ignore[arg-type]
            rules=self.rules(fields.get("rules"), where=where),
        )
        self.codes.append(code)
        if "codes" in fields and not (isinstance(fields["codes"], yaml.ScalarNode) and fields["codes"].tag.endswith(":null")):
            self.code_tree(fields["codes"], path)


def dump_codebook(codebook: Codebook) -> str:
    """Serialise a Codebook back to codebook YAML (used by the importers).

    >>> print(dump_codebook(Codebook(codes=(Code(id="a", label="A", path=("a",)),))))  # doctest: +SKIP
    """
    def node(code: Code) -> dict[str, Any]:
        entry: dict[str, Any] = {"label": code.label}
        if code.description:
            entry["description"] = code.description
        if code.color:
            entry["color"] = code.color
        entry["keywords"] = list(code.keywords)
        if code.regex:
            entry["regex"] = list(code.regex)
        if code.exclude:
            entry["exclude"] = list(code.exclude)
        if code.morphology != "inflectional":
            entry["morphology"] = code.morphology
        if code.rules:
            entry["rules"] = [rule.as_record() for rule in code.rules]
        children = codebook.children(code.id)
        if children:
            entry["codes"] = {child.id: node(child) for child in children}
        return entry

    document: dict[str, Any] = {}
    if codebook.name:
        document["name"] = codebook.name
    document["unit"] = codebook.unit
    if codebook.code_kinds != CODED_KINDS:
        document["code_kinds"] = list(codebook.code_kinds)
    document["codes"] = {code.id: node(code) for code in codebook.children(None)}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


# --- plain records: the codebook as run.json keeps it ----------------------------------------------


def codebook_to_records(codebook: Codebook) -> list[dict[str, Any]]:
    """The codebook as a list of plain code dicts, as stored under "codebook_codes" in run.json.

    >>> codebook_to_records(Codebook(codes=(Code(id="a", label="A", path=("a",), keywords=("x",)),)))
    [{'id': 'a', 'label': 'A', 'path': ['a'], 'description': '', 'color': None, 'keywords': ['x'], 'regex': [], 'exclude': []}]
    """
    records = []
    for code in codebook.codes:
        record: dict[str, Any] = {
            "id": code.id,
            "label": code.label,
            "path": list(code.path),
            "description": code.description,
            "color": code.color,
            "keywords": list(code.keywords),
            "regex": list(code.regex),
            "exclude": list(code.exclude),
        }
        # Only when set, so that run.json of a codebook without them stays as it was.
        if code.morphology != "inflectional":
            record["morphology"] = code.morphology
        if code.rules:
            record["rules"] = [rule.as_record() for rule in code.rules]
        records.append(record)
    return records


def normalize_code_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """One code dict with every field of `codebook_to_records`, filled in from an older or hand-made one.

    >>> normalize_code_record({"id": "a", "path": "top/a"})["path"]
    ['top', 'a']
    """
    path = record.get("path") or [record["id"]]
    if isinstance(path, str):
        path = path.split("/")
    normalized = {
        "id": str(record["id"]),
        "label": str(record.get("label") or record["id"]),
        "path": [str(part) for part in path],
        "description": str(record.get("description") or ""),
        "color": record.get("color") or None,
        "keywords": [str(item) for item in record.get("keywords") or []],
        "regex": [str(item) for item in record.get("regex") or []],
        "exclude": [str(item) for item in record.get("exclude") or []],
    }
    # Derivation and rules only when set, as codebook_to_records writes them.
    if record.get("morphology") == "derivational":
        normalized["morphology"] = "derivational"
    rules = [rule_from_record(rule).as_record() for rule in record.get("rules") or [] if isinstance(rule, Mapping)]
    if rules:
        normalized["rules"] = rules
    return normalized


def rule_from_record(record: Mapping[str, Any]) -> Rule:
    """A Rule from its plain form (Rule.as_record)."""
    kind = "near" if "near" in record else "all"
    lists = tuple(tuple(str(word) for word in words) for words in record.get(kind) or [])
    return Rule(kind=kind, lists=lists, within=int(record.get("within") or 0),
                unless=tuple(str(word) for word in record.get("not") or []))


def codebook_from_records(
    records: Iterable[Mapping[str, Any]], *, name: str = "", unit: str = "paragraph", source: str | None = None
) -> Codebook:
    """Rebuild a Codebook from code dicts as `codebook_to_records` writes them (run.json's stored copy).

    >>> codebook_from_records([{"id": "a", "keywords": ["x"]}])["a"].keywords
    ('x',)
    """
    codes = []
    for record in records:
        code = normalize_code_record(record)
        codes.append(Code(
            id=code["id"], label=code["label"], path=tuple(code["path"]), description=code["description"],
            color=code["color"], keywords=tuple(code["keywords"]), regex=tuple(code["regex"]),
            exclude=tuple(code["exclude"]), morphology=code.get("morphology", "inflectional"),
            rules=tuple(rule_from_record(rule) for rule in code.get("rules", ())),
        ))
    return Codebook(codes=tuple(codes), name=name, unit=unit if unit in UNITS else "paragraph", source=source)  # type: ignore[arg-type]


def write_codebook(codebook: Codebook, path: str | Path, *, force: bool = False) -> Path:
    """Write `codebook` as codebook YAML, checked by loading it back; never overwrites without `force`.

    >>> write_codebook(codebook, "codebook.yaml", force=True)  # doctest: +SKIP
    """
    path = Path(path)
    if path.exists() and not force:
        raise CoderError(f"{path} already exists. Pass --force to overwrite it, or choose another file with --out.")
    text = dump_codebook(codebook)
    parse_codebook(text, source=str(path))  # a bug here must not leave an unreadable codebook behind
    write_text(path, text)
    return path


# --- trees: the codebook as importers find it (REFI-QDA, dictionaries) -------------------------------


def slugify(name: str) -> str:
    """A code id from a name: lower case, runs of non-word characters as "_" (Chinese kept).

    >>> slugify("Administrative barrier (red tape)")
    'administrative_barrier_red_tape'
    """
    slug = re.sub(r"[\W_]+", "_", name.strip().casefold()).strip("_")
    return slug or "code"


class _IdMaker:
    """Hands out unique ids, disambiguating repeats with the parent id and then a number."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.next_number: dict[str, int] = {}  # base -> the number to try first (20,000 repeats took 114 s)

    def make(self, base: str, parent: str | None) -> str:
        candidates = [base] + ([f"{parent}_{base}"] if parent else [])
        for candidate in candidates:
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate
        number = self.next_number.get(base, 2)
        while f"{base}_{number}" in self.used:
            number += 1
        self.next_number[base] = number + 1
        self.used.add(f"{base}_{number}")
        return f"{base}_{number}"


def codebook_from_tree(
    tree: Sequence[Mapping[str, Any]], *, name: str = "", unit: str = "paragraph", what: str = "code"
) -> tuple[Codebook, list[str]]:
    """Codes from nested dicts {name, description, color, keywords, regex, children}, with unique ids.

    Shared by the REFI-QDA and dictionary importers; returns the report of ids that had to be changed.
    """
    ids = _IdMaker()
    codes: list[Code] = []
    report: list[str] = []

    def walk(nodes: Sequence[Mapping[str, Any]], parents: tuple[str, ...]) -> None:
        for node in nodes:
            text, unstorable = _storable_texts(node)
            label = text["name"]
            if len(parents) >= MAX_CODE_DEPTH:
                raise CodebookError(
                    f"{name or 'codebook'}: {what} '{label}' is nested more than {MAX_CODE_DEPTH} levels deep. "
                    f"Flatten the hierarchy to fewer levels and import again.")
            base = slugify(label)
            code_id = ids.make(base, parents[-1] if parents else None)
            if code_id != base:
                report.append(f"{what} '{label}': id '{base}' already used, so its id is '{code_id}'")
            if unstorable:
                report.append(f"{what} '{label}': {', '.join(unstorable)} replaced by a space (characters a "
                              f"codebook cannot hold)")
            codes.append(
                Code(
                    id=code_id,
                    label=label or code_id,
                    path=(*parents, code_id),
                    description=text["description"],
                    color=node.get("color"),
                    keywords=text["keywords"],
                    regex=text["regex"],
                )
            )
            walk(node.get("children") or (), (*parents, code_id))

    walk(tree, ())
    return Codebook(codes=tuple(codes), name=name, unit=unit), report  # type: ignore[arg-type]


_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")  # CONTROL_CHARACTER, lone surrogates


def _storable_texts(node: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An imported code's name, description, keywords and regexes with each control character (or lone
    surrogate) replaced by a space, as `parse_codebook` refuses them, and the characters replaced (U+0001, ...)."""
    found: set[str] = set()

    def clean(value: Any) -> str:
        raw = str(value or "")
        found.update(_UNSTORABLE.findall(raw))
        return _UNSTORABLE.sub(" ", raw).strip()

    keywords = (" ".join(clean(keyword).split()) for keyword in node.get("keywords") or ())
    text = {"name": clean(node.get("name")), "description": clean(node.get("description")),
            "keywords": tuple(keyword for keyword in keywords if keyword),
            "regex": tuple(pattern for pattern in map(clean, node.get("regex") or ()) if pattern)}
    return text, [f"U+{ord(character):04X}" for character in sorted(found)]


def refuse_deeper_level(codebook: Codebook, level: int | None) -> None:
    """Stop when `--level` asks for codes deeper than the codebook's go (nothing would roll up to them)."""
    deepest = max((code.depth for code in codebook), default=0)
    if level and level > deepest:
        raise CoderError(f"--level {level}: the codebook's codes go {deepest} level(s) deep. Pass --level "
                         f"{deepest} or less (1 rolls codes up to the top level), or leave it out.")
