"""Stage 1 (HTML): the article text of a saved web page, without menus, banners and footers.

trafilatura finds the main text (its boilerplate removal scores best among open-source
extractors in published comparisons and keeps headings, paragraphs and tables); a page
too short for it to judge falls back to every visible paragraph outside <nav>, <header>,
<footer>, <aside>, <form>, scripts and styles. Paragraphs are separated by a blank line.
Elements the page hides (the `hidden` attribute, an inline `display: none` or `visibility: hidden`,
or `font-size: 0` around plain text) are no text a reader sees and go first, unless they hold most of
the page's text (a page its script reveals). Visible lines of the page that are not in the result are
listed as removed, and so are the hidden ones. A figure's caption is a paragraph; note markers set as
superscript numbers are left out.
"""

from __future__ import annotations

import codecs
import re
import secrets

from ..files import DecodeError, decode_text
from . import ExtractedText, ExtractionError, Removed, break_mark, with_breaks
from .encodings import detect_legacy, utf8_with_strays

_FURNITURE = ("nav", "header", "footer", "aside", "form", "script", "style", "noscript", "template", "svg", "button")
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "th", "dd", "dt", "figcaption", "div", "section", "article")


def extract_html(data: bytes) -> ExtractedText:
    """The article text of an HTML page; paragraphs separated by blank lines.

    Raises:
        ExtractionError: the page has no visible text.
    """
    import trafilatura

    data, encoding, page_encoding = _undeclared_as_utf8(data)
    # A <br> breaks a line inside a paragraph, where trafilatura's text (and lxml's, which drops it) has
    # no way to tell it from a paragraph's end: each is marked with a word no page holds, then read back.
    mark = break_mark()
    data = _BREAK.sub(mark.encode("ascii"), data)
    data, invisible = _marked_invisible(data)
    data = _without_note_markers(_FIGURE.sub(_figure_as_division, _without_templates(data)))
    if _too_deep(data, encoding=encoding):
        data = _flattened(data, encoding=encoding)
    page, hidden = data, []
    if _HIDDEN_HINT.search(data):
        tree = trafilatura.load_html(data)
        if tree is not None:
            hidden = [with_breaks(_read_back(line, invisible, mark), mark) for line in _drop_hidden(tree)]
            # trafilatura discards every element whose style says "hidden" anywhere: `overflow: hidden` (a
            # common wrapper of the article), `backface-visibility: hidden`. What is left is shown.
            for element in tree.iter():
                if isinstance(element.tag, str) and "hidden" in (element.get("style") or "").lower():
                    del element.attrib["style"]
            page = tree
    crowded = _most_inline_children(data, encoding=encoding)
    warnings: tuple[str, ...] = ()
    if crowded > MAX_INLINE_CHILDREN:  # read below as a page too short for trafilatura is
        article = None
        warnings = (f"one paragraph holds {crowded:,} inline elements (<span>, <a>, <font> ...), more than "
                    f"{MAX_INLINE_CHILDREN:,}: read without trafilatura, whose time grows with their square; menus "
                    f"and footers outside <nav>, <header>, <footer> and <aside> may be in its text",)
    else:
        article = trafilatura.extract(page, include_comments=False, include_tables=True, favor_recall=True,
                                      deduplicate=False)
        article = article and _read_back(article, invisible, mark)
    blocks = [_read_back(line, invisible, mark)
              for line in _visible_lines(data, skip_furniture=False, skip_hidden=bool(hidden), encoding=encoding)]
    visible = [with_breaks(line, mark) for line in blocks]
    if not article or not article.strip():
        article = _read_back("\n".join(_visible_lines(data, skip_furniture=True, skip_hidden=bool(hidden),
                                                  encoding=encoding)),
                             invisible, mark)
    paragraphs = [paragraph for line in _split_at_blocks(article.split("\n"), blocks)
                  for paragraph in with_breaks(line, mark).split("\n\n") if paragraph]
    boilerplate = [paragraph for paragraph in paragraphs if _is_boilerplate(paragraph)]
    if boilerplate and len(boilerplate) < len(paragraphs):
        paragraphs = [paragraph for paragraph in paragraphs if not _is_boilerplate(paragraph)]
    if not paragraphs:
        raise ExtractionError("the web page has no visible text")
    text = "\n\n".join(paragraphs)
    # (visible lines have their spaces collapsed, and their soft hyphens, which trafilatura deletes)
    kept, collapsed = set(map(_as_shown, paragraphs)), _as_shown(_SPACES.sub(" ", text))
    removed = tuple(
        Removed(page=None, text=line, reason="page furniture (menu, banner, sidebar or footer)")
        for line in dict.fromkeys(visible)
        if _as_shown(line) not in kept and _as_shown(line) not in collapsed
    ) + tuple(Removed(page=None, text=line, reason=_HIDDEN_REASON)
              for line in dict.fromkeys(hidden) if _as_shown(line) not in kept)
    return ExtractedText(text=text, format="html", removed=removed, warnings=warnings, encoding=page_encoding)


def _as_shown(text: str) -> str:
    """`text` as a browser shows it: without its soft hyphens (a kept "co&shy;op&shy;er&shy;a&shy;tion" was
    listed as removed page furniture, probe AY2)."""
    return text.replace("\u00ad", "")


# Characters a page or CMS puts inside words that no reader sees (zero-width space, non-joiner and joiner,
# word joiner, zero-width no-break space), as characters or entities. trafilatura deletes them
# ("joint&#8203;meeting" -> "jointmeeting", no keyword found; probe AG1): each is marked with a word no page
# holds and read back after extraction where it stands between two letters or digits (inside a word, where
# matching reads through it as in a .txt file); elsewhere (a paragraph's start, after a full stop, between
# two <br>) it is left out, as before (probe AI). A soft hyphen is left to trafilatura, which deletes it:
# "co&shy;op&shy;er&shy;a&shy;tion" reads "cooperation", as a browser shows it.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_ENTITY = re.compile(
    rb"&(?:#(?:0*(8203|8204|8205|8288|65279)|[xX]0*(200[bBcCdD]|2060|[fF][eE][fF][fF]))"
    rb"|(ZeroWidthSpace|zwnj|zwj|NoBreak));")
_ENTITY_NAMES = {b"ZeroWidthSpace": "\u200b", b"zwnj": "\u200c", b"zwj": "\u200d", b"NoBreak": "\u2060"}
_INVISIBLE_UTF8 = re.compile(b"|".join(re.escape(char.encode()) for char in _INVISIBLE))


def _marked_invisible(data: bytes) -> tuple[bytes, dict[str, str]]:
    """`data` with each invisible character inside its text (entity, or UTF-8 character in a page that
    is UTF-8) replaced by a mark, and the marks with the characters they stand for; a byte order mark at
    the start stays.

    >>> page, marks = _marked_invisible("<p>joint&#8203;meeting co\u2060op</p>".encode())
    >>> [marks[mark] for mark in re.findall(r"zw[0-9a-f]{16}", page.decode())] == ["\u200b", "\u2060"]
    True
    """
    if not any(hint in data for hint in (b"&", b"\xe2\x80", b"\xe2\x81", b"\xef\xbb\xbf")):
        return data, {}
    marks = {char: "zw" + secrets.token_hex(8) for char in _INVISIBLE}

    def entity(match: re.Match[bytes]) -> bytes:
        number, hexadecimal, name = match.groups()
        char = chr(int(number)) if number else chr(int(hexadecimal, 16)) if hexadecimal else _ENTITY_NAMES[name]
        return marks[char].encode("ascii")

    bom = data[:3] if data.startswith(b"\xef\xbb\xbf") else b""
    body = _INVISIBLE_ENTITY.sub(entity, data[len(bom):])
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:  # another encoding: its bytes are not these characters
        pass
    else:
        body = _INVISIBLE_UTF8.sub(lambda match: marks[match.group().decode()].encode("ascii"), body)
    used = {mark: char for char, mark in marks.items() if mark.encode("ascii") in body}
    return bom + body, used


def _read_back(text: str, marks: dict[str, str], break_mark: str) -> str:
    """`text` with each run of `marks` read back as its characters where it stands between two letters or
    digits (not a line break's mark), and left out elsewhere.

    >>> marks = {"zw1": "\u200b", "zw2": "\u2060"}
    >>> _read_back("zw1Joint jointzw1zw2meeting, zw2 held.zw1 Itzw2brk9", marks, "brk9")
    'Joint joint\\u200b\\u2060meeting, held. Itbrk9'
    """
    if not marks:
        return text
    run = re.compile("(?:" + "|".join(map(re.escape, marks)) + ")+( ?)")
    mark = re.compile("|".join(map(re.escape, marks)))

    def read(found: re.Match[str]) -> str:
        start, space = found.start(), found.group(1)
        end = found.end() - len(space)
        inside_word = (start > 0 and text[start - 1].isalnum() and not text.endswith(break_mark, 0, start)
                       and end < len(text) and text[end].isalnum() and not text.startswith(break_mark, end))
        if inside_word:
            return mark.sub(lambda one: marks[one.group()], text[start:end]) + space
        return "" if start == 0 or text[start - 1].isspace() else space  # no space doubled where it goes

    return run.sub(read, text)


# trafilatura's time grows with the square of the inline elements one paragraph holds (one <p> of 20,000
# <span>s, 0.38 MB: 38 s; 40,000: 213 s, probe S F11); 5,000 cost it about 2 s. Past this many children
# of one element, the page is read by `_visible_lines` (its time is linear), and the document says so.
MAX_INLINE_CHILDREN = 5000
_INLINE = frozenset({"a", "abbr", "b", "bdi", "bdo", "big", "br", "cite", "code", "del", "dfn", "em", "font", "i", "img",
                     "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time",
                     "tt", "u", "var", "wbr"})


def _most_inline_children(data: bytes, *, encoding: str | None) -> int:
    """The most inline elements one element of the page holds as its children (0 for a page with too
    few tags to hold more than MAX_INLINE_CHILDREN, which is not parsed)."""
    if data.count(b"<") <= MAX_INLINE_CHILDREN:
        return 0
    import lxml.html

    try:
        root = lxml.html.document_fromstring(data, parser=lxml.html.HTMLParser(huge_tree=True, encoding=encoding))
    except (ValueError, lxml.etree.ParserError):
        return 0
    return max((sum(1 for child in element if child.tag in _INLINE) for element in root.iter()), default=0)


def _split_at_blocks(lines: list[str], blocks: list[str]) -> list[str]:
    """`lines` with each line that is some of the page's consecutive `blocks` joined by spaces split
    into them again: on a short page trafilatura reads an <article> as one line, its headline and
    paragraphs run together into one passage.

    >>> _split_at_blocks(["Mayors meet The two mayors met.", "Other"], ["Mayors meet", "The two mayors met.", "Other"])
    ['Mayors meet', 'The two mayors met.', 'Other']
    """
    by_first_word: dict[str, list[int]] = {}
    for number, block in enumerate(blocks):
        by_first_word.setdefault(block.split(" ", 1)[0], []).append(number)
    whole = set(blocks)
    split: list[str] = []
    for line in lines:
        flat = _SPACES.sub(" ", line).strip()
        found = None
        if flat in whole or " " not in flat:  # a block as it is (most lines): nothing to split
            split.append(line)
            continue
        for first in by_first_word.get(flat.split(" ", 1)[0], ()):
            if not flat.startswith(blocks[first]):
                continue
            position, last = len(blocks[first]), first + 1
            while (position < len(flat) and last < len(blocks) and flat[position] == " "
                   and flat.startswith(blocks[last], position + 1)):
                position += 1 + len(blocks[last])
                last += 1
            if position == len(flat) and last - first > 1:
                found = blocks[first:last]
                break
        split.extend(found or [line])
    return split


_HIDDEN_REASON = "hidden on the page (hidden, display: none, visibility: hidden or font-size: 0)"
# Only a page that may hide something is parsed here before trafilatura reads it.
_HIDDEN_HINT = re.compile(rb"display\s*:\s*none|hidden|font-size\s*:\s*0", re.IGNORECASE)
# (`backface-visibility: hidden` shows its element: a property's whole name, not its end; probe P2)
_HIDDEN_STYLE = re.compile(r"(?<![\w-])(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)
_ZERO_FONT = re.compile(r"(?<![\w-])font-size\s*:\s*0*\.?0+(?:[a-z]{1,4}|%)?\s*(?:!\s*important\s*)?(?:;|$)",
                        re.IGNORECASE)
# Text a page never shows as text: what a share of the page's text leaves out (6.6 KB of inline CSS made a
# page revealed by its script look mostly shown, and its hidden article was dropped; probe P1).
_NO_TEXT = "ancestor::script or ancestor::style or ancestor::noscript or ancestor::template"
_NEVER_HIDDEN = ("html", "head", "body")


def _is_hidden(element) -> bool:  # noqa: ANN001 - an lxml element
    hidden = element.get("hidden")
    style = element.get("style") or ""
    return (element.tag not in _NEVER_HIDDEN
            # hidden="until-found": a collapsed section the browser's search opens, text a reader finds
            and ((hidden is not None and hidden.strip().lower() != "until-found")
                 or _HIDDEN_STYLE.search(style) is not None
                 or (_ZERO_FONT.search(style) is not None and not _styled_inside(element))))


def _styled_inside(element) -> bool:  # noqa: ANN001 - an lxml element
    """Whether an element inside `element` has a class or a style, which may set the font size again: a
    zero font size on a row of inline blocks only closes the gaps between them (keyword stuffing is plain
    text in a zero font size)."""
    return any(child.get("class") or child.get("style")
               for child in element.iterdescendants() if isinstance(child.tag, str))


def _shown_chars(element) -> int:  # noqa: ANN001 - an lxml element
    """The characters of `element`'s text a page could show: not those of scripts, styles and templates."""
    return sum(len(text.strip()) for text in element.xpath(f".//text()[not({_NO_TEXT})]"))


def _own_chars(element) -> int:  # noqa: ANN001 - an lxml element
    """_shown_chars without the text of links, menus, headers, footers and sidebars: what an article holds.
    Forty menu links outweighed a hidden article its script reveals, which was then dropped and the menu
    became the document (probe S F2)."""
    return sum(len(text.strip()) for text in element.xpath(f".//text()[not({_NO_TEXT} or {_FRAME})]"))


_FRAME = "ancestor::a or ancestor::nav or ancestor::header or ancestor::footer or ancestor::aside or ancestor::menu"


def _hidden_elements(root) -> list:  # noqa: ANN001 - an lxml tree
    """The elements `root` hides, the outermost of each nest, in document order: one walk of the tree that
    does not enter a hidden element (asking every hidden element's ancestors took 12 s for 30,000 hidden
    paragraphs 200 elements deep)."""
    outermost, stack = [], [root]
    while stack:
        element = stack.pop()
        if isinstance(element.tag, str) and _is_hidden(element):
            outermost.append(element)
        else:
            stack.extend(reversed(element))
    return outermost


def _drop_hidden(root, *, share_decided: bool = False) -> list[str]:  # noqa: ANN001 - an lxml tree
    """Drop the elements `root` hides, unless they hold half of its own text or more (_own_chars: links,
    menus and footers left out): a page hidden until its script shows it is all text a reader sees
    (`share_decided`: the page was judged so already). Returns their text, a line per block."""
    outermost = _hidden_elements(root)
    if not outermost or (not share_decided and 2 * sum(map(_own_chars, outermost)) >= _own_chars(root)):
        return []
    lines = [line for element in outermost for line in _block_lines(element)]
    for element in outermost:
        if element.getparent() is not None:
            element.drop_tree()
    return lines


_SPACES = re.compile(r"\s+")
# Lines of a news page's frame that the article extractor keeps on short pages: links to the previous and
# next articles (their titles, another article's words), where the page sits, the site's rights and
# registration, cookie banners, print and share buttons. Only a short paragraph is taken for one.
_BOILERPLATE = re.compile(
    r"^\s*(?:上一篇|下一篇|上一条|下一条|上一页|下一页|当前位置|您的位置|你的位置|所在位置|您现在的位置|"
    r"you are here|previous article|next article)\s*[:：>»›]"
    r"|版权所有|ICP\s*[备证]|公网安备|网站标识码|主办单位\s*[:：]|承办单位\s*[:：]|"
    r"copyright\s*(?:©|\(c\))|all rights reserved|"
    r"\bwe use cookies\b|\baccept (?:all )?cookies\b|\bcookie (?:policy|settings)\b|"
    r"^\s*(?:【?打印(?:本页)?】?|【?关闭(?:窗口)?】?|分享到\s*[:：]?|print|share)\s*$",
    re.IGNORECASE,
)


def _is_boilerplate(paragraph: str) -> bool:
    """A short paragraph of the page's frame (_BOILERPLATE), not the article's."""
    return len(paragraph) <= 200 and _BOILERPLATE.search(paragraph) is not None


# trafilatura drops every <figure>, and with it the article's captions: read as a <div> holding a <p>,
# a caption is a paragraph of the article.
_FIGURE = re.compile(rb"<(/?)fig(?:ure|(caption))(?=[\s/>])", re.IGNORECASE)
# A note marker set as a superscript (<sup><a href="#fn1">1</a></sup>, <sup>[2]</sup>) was glued to its
# sentence, "the mechanism.1"; a number is a marker when it links to a note, is in brackets or follows
# punctuation (m<sup>2</sup> stays).
_SUPERSCRIPT = re.compile(
    rb"<sup(?:\s[^<>]*)?>\s*(<a\s[^<>]*href\s*=\s*[\"']?#[^<>]*>)?\s*(\[\s*)?\d{1,3}(?:\s*[,-]\s*\d{1,3})*(\s*\])?\s*(?:</a>\s*)?</sup>",
    re.IGNORECASE)
_BEFORE_NOTE = tuple(mark.encode() for mark in ".,;:!?)\"'”。，；）」")  # (the CJK marks as a UTF-8 page writes them)


# A <template> is never shown (a script copies it into the page), but trafilatura keeps its text.
_TEMPLATE = re.compile(rb"<template(?=[\s/>])", re.IGNORECASE)
_TEMPLATE_END = re.compile(rb"</template\s*>", re.IGNORECASE)


def _without_templates(data: bytes) -> bytes:
    """The page without its <template> elements (one pass: an unclosed one is left as it is)."""
    kept, position = [], 0
    while (start := _TEMPLATE.search(data, position)) is not None:
        end = _TEMPLATE_END.search(data, start.end())
        if end is None:
            break
        kept.append(data[position : start.start()])
        position = end.end()
    return b"".join(kept) + data[position:] if kept else data


def _figure_as_division(tag: re.Match) -> bytes:
    """<figure> as <div>, <figcaption> as <p> (the closing tags too)."""
    return b"<" + tag[1] + (b"p" if tag[2] else b"div")


def _without_note_markers(data: bytes) -> bytes:
    """The page without the superscript numbers that mark its notes (_SUPERSCRIPT)."""

    def marker(match: re.Match) -> bytes:
        linked, bracketed = match.group(1), match.group(2) and match.group(3)
        note = linked or bracketed or data[max(0, match.start() - 3) : match.start()].endswith(_BEFORE_NOTE)
        return b"" if note else match.group(0)

    return _SUPERSCRIPT.sub(marker, data)


# <br>, <br/>, <BR clear="all">: in the bytes, so that the page's own encoding is left to trafilatura
# (a '<' is never the second byte of a GBK, Big5 or Shift-JIS character; UTF-16 pages are left as they are).
_BREAK = re.compile(rb"<br(?:\s[^<>]*)?/?>", re.IGNORECASE)


# Elements that only nest others (a page of a few thousand unclosed <div>s or <font>s, or of tables and lists
# nested hundreds deep): the blocks among them become paragraph starts, the rest go (their text stays).
_NESTING_BLOCKS = rb"div|section|article|main|blockquote|center|td|th|li|dd|dt|caption"
_NESTING_TAG = re.compile(rb"<(/?)(" + _NESTING_BLOCKS + rb"|span|font|b|i|em|strong|u|small|big"
                          rb"|table|thead|tbody|tfoot|tr|ul|ol|dl)(?=[\s/>])[^<>]*>", re.IGNORECASE)
_NESTING_BLOCK = re.compile(_NESTING_BLOCKS, re.IGNORECASE)
# Any other element, when those were not all that nested (<q>, <label>, <object> ...): all but the page's
# head and frame, the text it never shows, paragraphs and headings go, their text kept (blocks as paragraph
# starts).
_ANY_TAG = re.compile(rb"</?(?!(?:p|h[1-6]|pre|html|head|title|meta|link|base|body|script|style|noscript|template|textarea"
                      rb"|nav|header|footer|aside|form|svg|button|select|option)(?=[\s/>]))([a-z][\w:-]*)(?=[\s/>])[^<>]*>",
                      re.IGNORECASE)
_ANY_BLOCK = re.compile(rb"address|details|dialog|dir|fieldset|figure|hgroup|hr|legend|menu|object|summary",
                        re.IGNORECASE)
_EMPTY_PARAGRAPHS = re.compile(rb"<p>(?:\s*<p>)+")
_MAX_DEPTH = 256  # libxml2's limit without huge_tree, as trafilatura parses


def _too_deep(data: bytes, *, encoding: str | None) -> bool:
    """Whether the page nests deeper than trafilatura's parser reads: libxml2 drops everything after
    that point, silently (the rest of the page, not only the deep part)."""
    if data.count(b"<") < _MAX_DEPTH:
        return False
    import lxml.html

    parser = lxml.html.HTMLParser(encoding=encoding)
    try:
        lxml.html.document_fromstring(data, parser=parser)
    except (ValueError, lxml.etree.ParserError):
        return False
    return any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log)


def _flattened(data: bytes, *, encoding: str | None) -> bytes:
    """The page with its nesting elements undone: each block one a paragraph start, the others gone; if
    it is still too deep, every element but the page's frame and headings (_ANY_TAG) undone so."""
    flat = _NESTING_TAG.sub(lambda tag: b"<p>" if _NESTING_BLOCK.fullmatch(tag.group(2)) else b"", data)
    if _too_deep(flat, encoding=encoding):
        flat = _ANY_TAG.sub(lambda tag: b"<p>" if _ANY_BLOCK.fullmatch(tag.group(1)) else b"", flat)
    return _EMPTY_PARAGRAPHS.sub(b"<p>", flat)


# How a page declares its encoding: a byte order mark, <meta charset="...">, <meta http-equiv="Content-Type"
# content="text/html; charset=...">, an XML declaration's encoding="...". Anywhere in the page (as libxml2 reads it).
_DECLARED = re.compile(rb"<meta[^<>]*charset|<\?xml[^<>]*encoding", re.IGNORECASE)
_DECLARED_NAME = re.compile(rb"<meta[^<>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)|<\?xml[^<>]*?encoding\s*=\s*[\"']([\w.:-]+)",
                            re.IGNORECASE)
_BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
UNDETECTED = "undetected"  # a page no encoding reads and that declares none: left to trafilatura's guess


def _undeclared_as_utf8(data: bytes) -> tuple[bytes, str | None, str]:
    """The page, the encoding lxml is to read it in, and the page's encoding (as run.json records it).

    A page that declares no encoding (saved by wget or curl, whose charset was in the HTTP header) is decoded
    as a text file is (`decode_text`, then the legacy code pages) and given as UTF-8, which lxml is told;
    one that declares its encoding, or that no encoding reads, is left to lxml and trafilatura as before
    (None). Without it libxml2 read an undeclared UTF-8 page as Latin-1 while trafilatura read it as UTF-8:
    Chinese became mojibake in the text of coder's own reader and in what was listed as removed (probe AY2,
    AY3); and every page was recorded as "utf-8" (AY4).

    >>> _undeclared_as_utf8("<p>联席会议</p>".encode("gb18030")) == ("<p>联席会议</p>".encode(), "utf-8", "gb18030")
    True
    >>> _undeclared_as_utf8('<meta charset="GB2312"><p>联席会议</p>'.encode("gbk"))[1:]
    (None, 'gb2312')
    """
    bom = next((name for bom, name in _BOMS.items() if data.startswith(bom)), None)
    if bom is not None or _DECLARED.search(data):
        return data, None, bom or _declared_encoding(data)
    try:
        text, found = decode_text(data)
    except DecodeError:
        text, found = utf8_with_strays(data), "utf-8+cp1252"
        if text is None:
            text, found = detect_legacy(data) or (None, UNDETECTED)
        if text is None:
            return data, None, found
    return (data if found == "utf-8" else text.encode("utf-8")), "utf-8", found


def _declared_encoding(data: bytes) -> str:
    """The name of the encoding the page declares, as Python calls it (the label when Python has no such
    codec; UNDETECTED when no label is readable).

    >>> _declared_encoding(b'<meta http-equiv="Content-Type" content="text/html; charset=Windows-1252">')
    'cp1252'
    """
    found = _DECLARED_NAME.search(data)
    if found is None:
        return UNDETECTED
    label = (found.group(1) or found.group(2)).decode("ascii").lower()
    try:
        return codecs.lookup(label).name
    except LookupError:
        return label


def _visible_lines(data: bytes, *, skip_furniture: bool, skip_hidden: bool = False, encoding: str | None) -> list[str]:
    """Visible text of the page, one line per block element (without what the page hides, when
    `skip_hidden`: the elements `_drop_hidden` drops); `encoding` as `_undeclared_as_utf8` gives it."""
    import lxml.html

    # huge_tree: libxml2 otherwise stops at 256 nested elements and the page reads as empty (a saved page
    # with a few hundred unclosed <span>s or <font>s is that deep); the file's size still bounds the tree.
    parser = lxml.html.HTMLParser(huge_tree=True, encoding=encoding)
    try:
        root = lxml.html.document_fromstring(data, parser=parser)
    except (ValueError, lxml.etree.ParserError):
        return []
    drop = ("script", "style", "noscript", "template", "head", *(_FURNITURE if skip_furniture else ()))
    # (a list: dropping an element while iterating skipped the one after it, a <template> after a <noscript>)
    for element in list(root.iter(*drop)):
        element.drop_tree() if element.getparent() is not None else None
    if skip_hidden:  # (whatever they hold of this tree: its scripts and furniture are gone, not the page's)
        _drop_hidden(root, share_decided=True)
    return _block_lines(root)


def _block_lines(root) -> list[str]:  # noqa: ANN001 - an lxml element
    """The text under `root`, one line per innermost block element (or `root`'s text when it has none)."""
    lines: list[str] = []
    if not any(True for _ in root.iter(*_BLOCKS)):
        text = re.sub(r"\s+", " ", root.text_content()).strip()
        return [text] if text else []
    for element in root.iter(*_BLOCKS):
        # Only the innermost blocks: a <div> holding <p>s is read through its <p>s.
        if any(child.tag in _BLOCKS for child in element.iterdescendants()):
            own = (element.text or "").strip()
            if own:
                lines.append(re.sub(r"\s+", " ", own))
            continue
        text = re.sub(r"\s+", " ", element.text_content()).strip()
        if text:
            lines.append(text)
    return lines
