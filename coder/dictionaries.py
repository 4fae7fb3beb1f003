"""Interchange: word-list dictionaries researchers already have -> a Codebook (quanteda YAML, LIWC .dic, WordStat .cat).

Entries map onto the codebook's keyword rules: a word, a phrase (entries with spaces), or a
word with a trailing `*` (prefix wildcard) stays a keyword; a `*` at the start or inside a
word, a `?` (one character), or punctuation a keyword reads as a break between words (`(c`: a
bracket, comma or quote at a word's end) makes a regex; symbols (`c++`, `R&D`) stay in a keyword, which
matches them as written; what cannot be expressed is left out and reported. Every import returns the codebook and a report of what it changed or left out.

Assumptions about formats that have no published specification:
- LIWC .dic: category legend between the first two lines that are just `%`, one
  `id<TAB>name` per line (a tab-indented legend, as in LIWC2015, nests categories); then
  `entry<TAB>id<TAB>id...` lines, where a category may also be given by its name. LIWC2007
  conditional categories such as `(02 134)125/464` and `<of>` tags cannot be expressed.
- WordStat .cat: a category is a line without a trailing weight, its entries are the more
  indented lines ending in a weight such as `ABANDON* (1)`; nesting follows indentation.
  `_` joins the words of a phrase; entries with `@` (WordStat rules) cannot be expressed.
- quanteda YAML: a mapping of category -> list of entries (or a single entry), or -> a
  nested mapping of subcategories; a category named twice has the entries of both, as quanteda
  merges them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .codebook import MAX_CODE_DEPTH, check_yaml_shape, codebook_from_tree
from .errors import CodebookError
from .files import CHINESE_CODE_PAGES, DecodeError, command_argument, decode_text, read_bytes
from .matching import symbol_parts
from .models import Codebook

# Characters a keyword word may hold besides letters and digits (README matching rules 4-6); any
# other is a symbol a keyword matches as written (`c++`), but punctuation at a word's ends ("(c") is a
# break between words: such an entry is a regex.
_BREAKING_PUNCTUATION = re.compile(r"[^\w\s'\u2019.\-]")
_KEYWORD_WORDS = re.compile(r"[^\w'\u2019.\-]+")
FORMATS = {".yml": "quanteda", ".yaml": "quanteda", ".dic": "liwc", ".cat": "wordstat"}
_WEIGHTED = re.compile(r"^(?P<entry>.*?\S)\s*\((?P<weight>[-+]?\d+(?:\.\d+)?)\)\s*$")
_CONDITIONAL = re.compile(r"\([^)]*\)[\d/]*|\S*/\S*|<[^>]*>")


def convert_entry(entry: str) -> tuple[str, str | None, str | None]:
    """One dictionary entry as ("keyword" | "regex" | "skip", value, note for the report).

    >>> convert_entry("happi*")
    ('keyword', 'happi*', None)
    >>> convert_entry("*ness")[:2]
    ('regex', '(?<!\\\\w)\\\\w*ness(?!\\\\w)')
    """
    text = " ".join(entry.split())
    if not text:
        return "skip", None, None
    if not re.search(r"\w", text.replace("*", "").replace("?", "")):
        return "skip", None, f"'{entry}' has no letters or digits besides wildcards; left out"
    # `c++`, `R&D*`: a keyword holding a symbol matches it as written (matching rule 4); punctuation at a
    # word's end ("(c") is a break between words.
    punctuated = _BREAKING_PUNCTUATION.search(text.replace("*", "").replace("?", "")) and not symbol_parts(text)
    if "?" not in text and not re.search(r"\*(?=\S)|(?:^|\s)\*", text) and not punctuated:
        return "keyword", text, None
    parts = []
    for word in text.split(" "):
        parts.append("".join(r"\w*" if ch == "*" else r"\w" if ch == "?" else re.escape(ch) for ch in word))
    # Whole words: no word character may touch the entry's ends (a lookaround beside "+" would never hold).
    pattern = r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)"
    if punctuated:
        return "regex", pattern, (f"'{entry}' has punctuation a keyword reads as a break between words "
                                  f"(as a keyword it would match '{_KEYWORD_WORDS.sub(' ', text).strip()}'); "
                                  f"written as regex {pattern}")
    return "regex", pattern, f"'{entry}' has a wildcard at the start or inside a word; written as regex {pattern}"


def _node(name: str, description: str = "") -> dict[str, Any]:
    return {"name": name, "description": description, "entries": [], "children": []}


def _finish(tree: list[dict[str, Any]], report: list[str]) -> None:
    """Turn every node's raw entries into keywords and regexes, reporting what changed."""
    for node in tree:
        keywords: dict[str, None] = {}  # dicts keep the entries' order and tell a repeated one at once
        regexes: dict[str, None] = {}
        repeated = 0
        for entry in node.pop("entries"):
            kind, value, note = convert_entry(entry)
            if note:
                report.append(f"category '{node['name']}': {note}")
            target = keywords if kind == "keyword" else regexes if kind == "regex" else None
            if target is None or value is None:
                continue
            if value in target:
                repeated += 1
            else:
                target[value] = None
        if repeated:
            report.append(f"category '{node['name']}': {repeated} repeated entr{'y' if repeated == 1 else 'ies'} dropped")
        node["keywords"], node["regex"] = list(keywords), list(regexes)
        if not keywords and not regexes and not node["children"]:
            report.append(f"category '{node['name']}' has no entries; kept as a code to fill in")
        _finish(node["children"], report)


def _read_text(path: Path, report: list[str]) -> str:
    data = read_bytes(path, error=CodebookError, missing="dictionary not found. Pass the path of a .yml, .dic or .cat file.",
                      what="a dictionary")
    try:
        # Older LIWC and WordStat files are Windows-1252; Chinese LIWC circulates in Big5.
        text, encoding = decode_text(data, fallback="cp1252", chinese_code_pages=True)
    except DecodeError as problem:
        raise CodebookError(f"{path}: {problem}. Save the dictionary as UTF-8 text and try again.")
    if encoding == "cp1252":
        report.append(f"{path.name}: not UTF-8; read as Windows-1252")
    elif encoding in CHINESE_CODE_PAGES:
        report.append(f"{path.name}: not UTF-8; read as {CHINESE_CODE_PAGES[encoding]}")
    return text


def _quanteda(path: Path, text: str, report: list[str]) -> list[dict[str, Any]]:
    # An alias repeats a list inside a list: 600 bytes can stand for gigabytes of entries.
    check_yaml_shape(text, source=str(path), aliases=False)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise CodebookError(f"{path}{line}: YAML syntax error ({getattr(error, 'problem', error)}). Check indentation and colons.")
    if not isinstance(root, yaml.MappingNode) or not root.value:
        raise CodebookError(f"{path}: a quanteda dictionary is a mapping of category names to lists of entries, for example `positive: [good, happ*]`.")
    keys = {key.value for key, _ in root.value if isinstance(key, yaml.ScalarNode)}
    codes = next((value for key, value in root.value if isinstance(key, yaml.ScalarNode) and key.value == "codes"), None)
    if isinstance(codes, yaml.MappingNode) and keys & {"name", "unit", "description", "language", "code_kinds", "morphology"}:
        # its `name` and `unit` became categories, its codes' keyword lists `..._keywords` ones (probe N2)
        raise CodebookError(f"{path}: this is a coder codebook already (it has `codes:` and `{sorted(keys - {'codes'})[0]}:`), "
                            f"not a quanteda dictionary. Use it as it is: coder run CORPUS --codebook {command_argument(path)}.")
    return _quanteda_categories(root, "", report)


def _quanteda_categories(mapping: yaml.MappingNode, where: str, report: list[str]) -> list[dict[str, Any]]:
    """The categories of a mapping node, read from the nodes: entries keep the words as written (`yes`,
    `no`, `on` stay words, not booleans), and a category named twice is one category with the
    entries of both, as quanteda merges them (a mapping read into a dict kept only the last)."""
    nodes: dict[str, dict[str, Any]] = {}
    for key, value in mapping.value:
        if not isinstance(key, yaml.ScalarNode):
            report.append(f"line {key.start_mark.line + 1}: a category name must be a single word or phrase; left out")
            continue
        name = key.value
        if not name.strip():  # as `import qdc` names its nameless codes
            report.append(f"line {key.start_mark.line + 1}: a category without a name, imported as '(unnamed)'")
            name = "(unnamed)"
        node = nodes.get(name)
        if node is None:
            node = nodes[name] = _node(name)
        else:
            report.append(f"category '{where}{name}' is named again on line {key.start_mark.line + 1}; its entries are merged")
        if isinstance(value, yaml.MappingNode):
            node["children"] = _merged(node["children"], _quanteda_categories(value, f"{where}{name} > ", report))
        elif isinstance(value, yaml.SequenceNode):
            for item in value.value:
                if isinstance(item, yaml.ScalarNode) and not _null(item):
                    node["entries"].append(item.value)
                elif not _null(item):
                    report.append(f"category '{where}{name}': line {item.start_mark.line + 1} is a list or mapping, "
                                  f"not a word or phrase; left out")
        elif not _null(value):
            node["entries"].append(value.value)
    return list(nodes.values())


def _null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _merged(earlier: list[dict[str, Any]], later: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Subcategories of a category named twice: those of the same name merged, in first-seen order."""
    merged = {node["name"]: node for node in earlier}
    for node in later:
        if node["name"] in merged:
            merged[node["name"]]["entries"].extend(node["entries"])
            merged[node["name"]]["children"] = _merged(merged[node["name"]]["children"], node["children"])
        else:
            merged[node["name"]] = node
    return list(merged.values())


def _liwc(path: Path, text: str, report: list[str]) -> list[dict[str, Any]]:
    lines = text.split("\n")
    marks = [number for number, line in enumerate(lines) if line.strip() == "%"]
    if len(marks) < 2:
        raise CodebookError(
            f"{path}: a LIWC dictionary starts with its category legend between two lines holding just `%`; "
            f"found {len(marks)} such line(s)."
        )
    by_id: dict[str, dict[str, Any]] = {}
    by_name: dict[str, dict[str, Any]] = {}
    tree: list[dict[str, Any]] = []
    stack: list[tuple[int, dict[str, Any]]] = []
    for number in range(marks[0] + 1, marks[1]):
        line = lines[number]
        if not line.strip():
            continue
        match = re.match(r"^(\t*)\s*(\S+)\s+(.+?)\s*$", line)
        if not match:
            report.append(f"line {number + 1}: legend line '{line.strip()}' is not `id<TAB>name`; left out")
            continue
        depth, identifier, name = len(match.group(1)), match.group(2), match.group(3)
        described = re.fullmatch(r"(\S+)\s+\((.+)\)", name)
        node = _node(*(described.groups() if described else (name,)))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        (stack[-1][1]["children"] if stack else tree).append(node)
        stack.append((depth, node))
        if identifier in by_id:
            raise CodebookError(
                f"{path}:{number + 1}: category id {identifier} is defined twice in the legend ('{by_id[identifier]['name']}' "
                f"and '{node['name']}'); entries could not tell them apart. Give each category its own id.")
        by_id[identifier] = node
        by_name.setdefault(node["name"].casefold(), node)
    for number in range(marks[1] + 1, len(lines)):
        line = lines[number].strip()
        if not line:
            continue
        if "\t" in line:
            word, _, rest = line.partition("\t")
        else:
            # Separated by spaces: the categories are the trailing ids, or else the trailing names (a line
            # refers by one or the other): "at work 1 2" is the phrase "at work", even with a category "work".
            tokens = line.split()
            cut = len(tokens)
            while cut > 1 and (tokens[cut - 1] in by_id or _CONDITIONAL.fullmatch(tokens[cut - 1])):
                cut -= 1
            if cut == len(tokens):
                while cut > 1 and tokens[cut - 1].casefold() in by_name:
                    cut -= 1
            word, rest = " ".join(tokens[:cut]), " ".join(tokens[cut:])
        word = word.strip()
        conditional = _CONDITIONAL.findall(rest)
        if conditional or "<" in word:
            report.append(
                f"line {number + 1}: '{word}' has conditional categories {' '.join(conditional) or word} that coder "
                f"cannot express; only its plain categories are used"
            )
        plain = _CONDITIONAL.sub(" ", rest).split()
        if "<" in word:
            continue
        if not plain and not conditional:
            report.append(f"line {number + 1}: '{word}' names no category; left out")
        for category in plain:
            node = by_id.get(category) or by_name.get(category.casefold())
            if node is None:
                report.append(f"line {number + 1}: '{word}' refers to category '{category}', which the legend does not define; left out")
            else:
                node["entries"].append(word)
    return tree


def _wordstat(path: Path, text: str, report: list[str]) -> list[dict[str, Any]]:
    tree: list[dict[str, Any]] = []
    stack: list[tuple[int, dict[str, Any]]] = []
    weights = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        expanded = raw.expandtabs(4)
        indent = len(expanded) - len(expanded.lstrip())
        line = raw.strip()
        match = _WEIGHTED.match(line)
        if match:
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if not stack:
                where = "comes before any category" if not tree else "is not indented under a category"
                report.append(f"line {number}: entry '{line}' {where}; left out")
                continue
            entry = match.group("entry")
            if float(match.group("weight")) != 1:
                weights += 1
            if "@" in entry:
                report.append(f"line {number}: '{entry}' is a WordStat rule (@), which coder cannot express; left out")
                continue
            stack[-1][1]["entries"].append(entry.replace("_", " ").lower())
            continue
        node = _node(line)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        (stack[-1][1]["children"] if stack else tree).append(node)
        stack.append((indent, node))
    if weights:
        report.append(f"{weights} entr{'y has' if weights == 1 else 'ies have'} a weight other than 1; coder does not weigh keywords")
    return tree


def _check_depth(path: Path, tree: list[dict[str, Any]]) -> None:
    """Refuse categories nested deeper than the codebook allows, before anything walks them recursively."""
    level = [(node, 1) for node in tree]
    while level:
        node, depth = level.pop()
        if depth > MAX_CODE_DEPTH:
            raise CodebookError(
                f"{path}: category '{node['name']}' is nested more than {MAX_CODE_DEPTH} levels deep. "
                f"Flatten the dictionary's hierarchy to fewer levels and import again.")
        level.extend((child, depth + 1) for child in node["children"])


def read_dictionary(path: str | Path) -> tuple[Codebook, list[str]]:
    """Read a quanteda (.yml/.yaml), LIWC (.dic) or WordStat (.cat) dictionary as a Codebook.

    Categories become codes (nesting kept), entries become keywords or regexes; the
    second value reports everything that was changed or left out.

    >>> codebook, report = read_dictionary("moral_foundations.dic")  # doctest: +SKIP
    """
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise CodebookError(
            f"{path}: unknown dictionary type '{path.suffix}'. Use a quanteda .yml/.yaml, a LIWC .dic or a WordStat .cat file."
        )
    report: list[str] = []
    text = _read_text(path, report)
    reader = {"quanteda": _quanteda, "liwc": _liwc, "wordstat": _wordstat}[kind]
    tree = reader(path, text, report)
    if not tree:
        raise CodebookError(f"{path}: no categories found; nothing to import.")
    _check_depth(path, tree)
    _finish(tree, report)
    codebook, ids = codebook_from_tree(tree, name=path.stem, what="category")
    return codebook, report + ids
