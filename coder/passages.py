"""Stage 3: Document -> Passages with exact character offsets.

Every passage keeps `document.text[start:end]` as its span, so a match found in the passage
can be shown, counted and reviewed in the original text. Three strings describe it:

- the span, `document.text[start:end]`, with surrounding whitespace and debris left out;
- `view`, the same length as the span, where extraction debris is blanked (replaced by
  spaces) and every line break is a space; the matcher runs on it and adds `start`;
- `text`, the readable form for reviewers: whitespace collapsed, words hyphenated at a line
  end rejoined.

Debris (blanked in `view`, never deleted): a table pipe at the start ("| ") or end (" |") of a
line, a Markdown table rule line ("|---|---|"), a lone page number on its own line
("12", "- 12 -", "· 25 ·", "Page 3", "12/40", "第3页"), and the running header or footer of a PDF
paste: a line of at least 10 letters or 4 CJK characters, ending no sentence, that comes back at
least three times alike but for a number at its start or end ("116 Journal of Regional Governance", "中国行政管理
2019年第5期"), its copies at least 10 lines apart (the median gap: once a page), at least twice and
at half of its places at a page break: a page number beside it (blank lines and the other such lines
between), or a page number at its own start or end, apart from the text by a space, with a sentence
running on across it (a year, 19xx or 20xx, is no page number; nor are lone numbers that come more
often than once in 10 lines, a table's cells; the numbers of a line's copies, when they differ, go up
as pages do). A repeated line anywhere else, a table's row label or a list's line (copies a few lines
apart, or numbers beside them that are cells), a numbered heading after a sentence's end or glued to
its number ("对策建议1"), speaker labels ("Participant 1", "Participant 2"), a repeated question,
stays. Other web and PDF boilerplate lines are real text and stay. (A refrain that ends no sentence,
a numbered stanza's number after it, still reads as a footer: the two look alike.) In a .md document,
Markdown emphasis delimiters are blanked in `view` too (`**joint** meeting`, `_joint_ meeting`, 联席**会议**:
see _blank_emphasis for which runs of `*` and `_` count) and kept in `text`, which segment ids are made from
(a passage's span takes in the delimiters of its first and last words).

Paragraph unit. Paragraphs are separated by blank lines (empty or whitespace-only, including
no-break spaces); single line breaks inside a paragraph are joined. A page-number line
inside a paragraph does not end it, nor do blank lines around a page number or a running header
when a sentence runs on across them (the line before ends no sentence, the line after starts
with a lowercase letter, or in Chinese as below). Double-spaced documents (PDF pastes where each text
line is followed by one blank line, as seeds/regional_cooperation_governance_paper.txt) are
detected: at least 5 text lines, more than half of the gaps between text lines are exactly
one blank line, and a sentence runs on across most of those gaps. A gap is inside a sentence
when the line before does not end in . ! ? : ; 。 ！ ？ ： ； or a closing quote or bracket,
and the line after starts with a lowercase letter, or (Chinese has no capitals) with a CJK
character or mark when the line before is a full line (at least 15 characters and 80% of
the document's full line length, the 75th percentile of its line lengths: a PDF column
breaks full lines, while a title, an author or a heading line is short) and the line after
is not a heading or a label (一、 （一） 第一章 摘要 关键词 中图分类号 ...). "Most" means more than
half of the single gaps, or, with at least 3 such gaps, more than half of the single gaps
after a full line (so the short front-matter lines of a Chinese paste do not outvote its
body). In such a document one blank line is a line break, a run of two or more blank lines
is a paragraph break, and a run holding a page number or a lone note marker ("[1]①") is a
page break, which does not end the paragraph.

Long paragraphs. A paragraph longer than `max_chars` is cut at sentence boundaries and the
sentences are packed greedily into passages of at most `max_chars`. A single sentence
longer than `max_chars` stays whole unless it is longer than `2 * max_chars`; then it is cut
after the last clause mark (; ； ， , 、) before the limit, else at the last space, else at the
limit. The sentence rule is a fast regular expression: after . ! ? (and closing quotes)
followed by whitespace or directly by a capital letter ("the party.Party building"), after
。！？ and after an ellipsis (… ……); not after common abbreviations (e.g. i.e. U.S. U.K. U.N. No.
Nos. Vol. Vols. p. pp. Fig. Figs. Eq. Eqs. Ch. Chap. Sec. Dr. Mr. Mrs. Ms. Prof. Jr. Sr. St. Ed. Eds.
et al. vs. cf. approx. est. ca. ibid. op. cit. esp. viz. resp. Jan. Feb. Aug. Sep. Sept. Oct. Nov.
Dec.; "et al.", "op. cit.", "ibid.", "ca.", "est." and "resp." only when the next word does not start
with a capital: "by Li et al. The meeting" is two sentences), single initials or section numbers ("2.1." with parts of one or two
digits; a year such as "2020." still ends a sentence), not between digits (2.1.3, 3.5%), not when the
next word starts with a lowercase letter, and not between a Chinese quotation and its attribution
(“联席会议很有用！”他说。: a closing quote, then at most 8 CJK characters and 说, 道, 问, 表示, 指出,
称, 强调, 介绍, 回答, 补充, 解释 or 坦言 before a comma, colon or 。).

Passage kinds. Front matter and apparatus lines become passages of their own with a `kind`
(title, author, abstract, keywords, identifier, heading, contents, reference; the rest is body): a line
starting with a label (摘要, 关键词, 中图分类号, DOI, 作者简介, Abstract, Keywords ...) starts a
passage even inside a paragraph; in the front matter (up to the first heading or the first body
passage of 200 characters holding a sentence) name, affiliation and journal issue lines do too,
and the title is the title-like passage before the authors (or the abstract); numbered short
lines that follow a sentence's end are headings; everything after a 参考文献/References heading,
and [1]-style citation lines, are references. The README's table gives each rule.

Sentence unit. spaCy's rule-based "sentencizer" on a blank English pipeline (no model),
run on each paragraph's view after cutting at 。！？, so sentences never cross paragraphs
and Chinese sentences are split even inside a run of CJK characters. Its cuts then follow the
rule above: a sentence that ends with one of the abbreviations above, or with a comma, semicolon or colon
after its period ("Li et al., 2018"), is joined to the next, as is one followed by a lowercase word
or by a Chinese quotation's attribution, so "As Smith et al. (2019) showed, ...", "(est. 2015)"
and "(2021, p. 12)." stay in their sentence; an opening bracket or quote that the sentencizer
leaves after a sentence's end starts the next sentence ("It rose." / "(See Table 1.)").

Document unit. One passage: the whole text without surrounding whitespace and debris.

Readable `text`: a word hyphenated at a line end is rejoined without the hyphen when the
second part starts with a lowercase letter and either the joined word is an English word or
neither part is ("gover-\\nnance" and "gov-\\nernance" -> "governance"); otherwise the hyphen
stays ("cross-\\nregional" -> "cross-regional"). English words are those of spaCy's lemma lookup
table (spacy-lookups-data) and the nouns, verbs and adjectives of five letters or more of its rule
index ("governance", "environmental": the lookup table lists only words that inflect). A word
broken across lines without a hyphen, with no space before the break ("tri\\nggered"), is
rejoined only when the joined word is an English word and at least one part is not, a function
word counting as a word ("accept\\nor" stays "accept or") and a two-letter abbreviation as none
("us\\ned" is "used"). A line
break between two CJK characters or CJK punctuation marks disappears (Chinese has no spaces
between words).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from itertools import accumulate
from operator import methodcaller

from .imports import LazyPattern
from .lexicon import CJK_CHARS, is_cjk, is_english_word, is_whole_word
from .models import UNITS, Document, Passage, PassageKind, Unit

__all__ = ["sentence_boundaries", "split_passages"]

# --- debris -------------------------------------------------------------------------------
# A pattern that takes 0.2 ms or more to compile (the CJK class alone takes 1 ms, the label and
# author patterns 2-5 ms) is a LazyPattern, compiled when first used: a keyword recode splits
# none of its documents, or a few.
_H = r"[^\S\n]"  # horizontal whitespace: any whitespace but a line break
_PAGE_NUMBER = LazyPattern(
    rf"""{_H}*(?:
        [-–—]{_H}*\d{{1,4}}{_H}*[-–—]                                  # - 12 -
      | [·•・]{_H}*\d{{1,4}}{_H}*[·•・]                               # · 25 · (Chinese journals)
      | (?:page|p\.){_H}*\d{{1,4}}(?:{_H}*(?:/|of){_H}*\d{{1,4}})?      # Page 3, Page 3 of 40
      | \d{{1,4}}(?:{_H}*/{_H}*\d{{1,4}})?                             # 12, 12/40
      | 第{_H}*\d{{1,4}}{_H}*页(?:{_H}*[/,，]?{_H}*共{_H}*\d{{1,4}}{_H}*页)?  # 第3页 共40页
    ){_H}*""",
    re.IGNORECASE | re.VERBOSE,
)
# A note marker alone on a line ("[1]①", "[2]"), left between the lines of a PDF paste: like a page
# number it does not end a paragraph there (it is not debris: it stays in the passage).
_NOTE_MARKER = re.compile(rf"{_H}*(?:\[\d{{1,3}}\]|[\u2460-\u2473]){{1,4}}{_H}*")
_TABLE_RULE = re.compile(rf"{_H}*\|[ \t:|-]*-[ \t:|-]*")
_LEADING_PIPE = re.compile(rf"^{_H}*(\|)(?={_H}|$)", re.MULTILINE)
_TRAILING_PIPE = re.compile(rf"(?<={_H})(\|){_H}*$", re.MULTILINE)

_BLANK, _PAGE, _TEXT = 0, 1, 2
_new_object = object.__new__

# Markdown emphasis (.md documents only): a run of one to three `*` or `_`, not escaped with a backslash.
_EMPHASIS_RUN = re.compile(r"(?<![\\*])\*{1,3}(?!\*)|(?<![\\_])_{1,3}(?!_)")
_CODE_SPAN = re.compile(r"`[^`\n]+`")
# Where the split blanked a delimiter (a passage's span takes in those of its first and last words). A noncharacter:
# no document holds it (one that does is not marked).
_EMPHASIS_MARK = "\uffff"

# --- sentences ----------------------------------------------------------------------------
_CLOSERS = "\"'”’)]）」』】"
# Latin terminators count only before whitespace, a capital or an opening quote (so not in
# 2.1.3, 3.5% or www.example.com); the match takes the following whitespace, so it ends
# where the next sentence starts.
_SENTENCE_END = LazyPattern(
    rf"(?:([.!?]+)[{re.escape(_CLOSERS)}]*(?=[\sA-Z“\"'‘])|[。！？]+[{re.escape(_CLOSERS)}]*|…+[{re.escape(_CLOSERS)}]*)\s*"
)
_TERMINATOR_CHARS = ".!?。！？…"
_CJK_TERMINATOR = LazyPattern(rf"[。！？]+[{re.escape(_CLOSERS)}]*")
# A Chinese quotation's attribution after its closing quote: “联席会议很有用！”他说。
_ATTRIBUTION = LazyPattern(rf"[{CJK_CHARS}]{{1,8}}?(?:说|道|问|表示|指出|称|强调|介绍|回答|补充|解释|坦言)[，,：:。]")
_OPENERS = "\"'“‘([{（【「『《"
# A comma, semicolon or colon right after a period: "Li et al., 2018"
_CLAUSE_AFTER_END = re.compile(r"\s*[,;:，；：]")
_ABBREVIATIONS = frozenset(
    ["e.g", "i.e", "u.s", "u.k", "u.n", "no", "nos", "vol", "vols", "dr", "mr", "mrs", "ms", "prof", "al", "fig", "figs", "vs", "cf", "pp", "jr", "sr", "st", "ed", "eds", "approx",
     "p", "est", "ca", "eq", "eqs", "ch", "chap", "sec", "ibid", "op", "cit", "esp", "viz", "resp",
     "jan", "feb", "aug", "sep", "sept", "oct", "nov", "dec"]
)
# Those a sentence often ends with: they end it before a capital ("Smith, op. cit. The meeting followed."),
# not before a bracket, a digit, a comma or a lowercase word ("Li et al. (2019)", "ca. 1990").
_ABBREVIATIONS_ENDING_SENTENCES = frozenset(["al", "ibid", "cit", "ca", "est", "resp"])
_LONGEST_ABBREVIATION = max(map(len, _ABBREVIATIONS))
_WORD_BEFORE = re.compile(r"(?<![A-Za-z])([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)\.*$")
_NON_SPACE = re.compile(r"\S")
_SECTION_NUMBER = re.compile(r"(?<![\w.])\d{1,2}(?:\.\d{1,2})*$")
_CLAUSE_MARK = re.compile(r"[;；，,、]")

# --- double spacing -------------------------------------------------------------------------
_FULL_LINE_MIN = 15
# A line starting like this starts something of its own: a numbered heading or a front-matter label.
# Taiwan numbers its headings 壹、貳、參 (probe BR2); not 伍、陆、陸, a surname and 'land' (…以及 / 陆、海、空多式联运, probe BS1).
_LINE_LABEL = LazyPattern(
    r"[一二三四五六七八九十壹贰貳叁參肆柒捌玖拾]+[、.．]|[（(][一二三四五六七八九十\d]{1,3}[）)]|第[一二三四五六七八九十百\d]+[章节部篇]|"
    r"(?:摘\s*要|关\s*键\s*[词字]|關\s*鍵\s*[詞字]|中[图圖]分[类類][号號]|文[献獻][标標]识[码碼]|文[献獻][标標]識[码碼]|文章[编編][号號]|收稿日期|基金[项項目资資]|作者[简簡]介|参考文献|參考文獻)"
)

# --- passage kinds ----------------------------------------------------------------------------
_CJK_RE = LazyPattern(f"[{CJK_CHARS}]")
_CJK_CLASS = f"[{CJK_CHARS}]"
# A front-matter or apparatus line starts a passage of its own (see the module docstring).
_LEAD = r"[\s•·■◎□●○◆◇▪※★☆]*"  # bullets and author marks before a line's label
_OPEN = r"[\[【〔(（]?\s*"
_CJK_END = r"(?:\s*[\]】〕)）]|\s*[:：]|\s|$)"  # 摘要: 摘要 text 【摘要】
_LATIN_END = r"\s*[\]】〕)）]?\s*(?:[:：.—–-]|$)"  # Abstract: Abstract. ABSTRACT
# ...and "Abstract" or "Key words" (not "Summary", which starts "Summary Report of ..." in a wrapped line) before
# a space and a capital: "ABSTRACT At present", "Key words Joint Meeting; ..." (an English PDF paste);
# "Abstract concepts are..." is a sentence.
_SPACED_END = r"[^\S\n]+(?=(?-i:[A-Z]))"
# Journal back matter's declarations, kind identifier: not what the text says ("No potential conflict of
# interest was reported by the authors" coded barriers).
_DECLARATION_LABELS = (r"disclosure\s+statement|declarations?\s+of\s+(?:competing\s+|conflicting\s+)?interests?|"
                       r"conflicts?\s+of\s+interests?(?:\s+statement)?|competing\s+interests?(?:\s+statement)?|"
                       r"data\s+availability(?:\s+statement)?")
# Such a label counts alone on its line (with or without a colon), or before a declaration's known wording
# ("Conflict of interest: The authors declare ...", Springer's "Conflict of interest The authors declare ..."):
# "Conflicts of interest: the provinces compete ..." and "Conflicts of Interest Between Upstream and
# Downstream Cities" are the body's (probe BG1).
# A declaration's wording is about interests, conflicts, funding or data: "There is no conflict of interest",
# "The authors declare no competing interests"; "there was no mechanism to settle disputes" is the body's
# (probe BJ3).
_DECLARATION_TOPIC = (r"(?:conflicts?|competing|(?:non-?)?financial|interests?|fund(?:s|ing|ed)?|grants?|data(?:sets?)?|"
                      r"relationships?|affiliations?)\b")
_DECLARED = (r"(?:(?:known|potential|relevant|actual|other|perceived|specific|external)\s+)*"
             r"(?:conflicts?\s+(?:of\s+interests?|to\s+(?:declare|report|disclose))|(?:competing|conflicting)\s+(?:financial\s+)?interests?"
             r"|(?:non-?)?financial\s+(?:or\s+non-?financial\s+)?(?:interests?|support|disclosures?|relationships?|conflicts?)|funding"
             r"|data(?:sets?)?\s+(?:(?:are|is)\s+)?(?:available|associated|shared|(?:were|was)\s+(?:created|generated|used|analy[sz]ed)))\b")
_DECLARATION_WORDING = (
    r"(?:the\s+authors?(?:\s*\(s\))?|all\s+authors|we|i)\s+(?:(?:declare|report|disclose|confirm|state)[sd]?\b"
    r"(?:\s+none\b|[^.;!?]{0,60}?\b" + _DECLARATION_TOPIC + ")"
    r"|(?:ha(?:s|ve)\s+no|received\s+no|did\s+not\s+receive(?:\s+any)?)\s+(?:(?:known|relevant|potential|specific|other|external|actual)\s+)*"
    + _DECLARATION_TOPIC + r"|ha(?:s|ve)\s+nothing\s+to\s+(?:declare|disclose|report)\b)"
    r"|on\s+behalf\s+of\s+all\s+(?:the\s+)?(?:co-?)?authors,?\s+the\s+corresponding\s+author\s+states\b[^.;!?]{0,60}?\b" + _DECLARATION_TOPIC
    + r"|there\s+(?:is|are|was|were)\s+no\s+" + _DECLARED + r"|no\s+" + _DECLARED
    + r"|none(?:\s+declared|\s+to\s+declare)?[^\S\n]*\.?[^\S\n]*$|not\s+applicable\b|n/a\b"
    r"|the\s+data(?:sets?)?\s+(?:that\s+supports?|supporting|used|generated|analy[sz]ed|(?:are|is)\s+(?:openly\s+|publicly\s+)?available)\b"
    r"|data\s+(?:sharing\s+(?:is\s+)?not\s+applicable|(?:are|is)\s+(?:openly\s+|publicly\s+)?available|will\s+be\s+made\s+available)\b"
)
_DECLARATION_END = r"[^\S\n]*[\]】〕)）]?[^\S\n]*(?:[:：.—–-][^\S\n]*)?(?:$|(?=(?:" + _DECLARATION_WORDING + ")))"
_SPACED_LABELS = (("abstract", r"abstract"), ("keywords", r"key\s*-?words?"))
_CJK_KIND_LABELS = (
    ("abstract", r"(?:内容|內容)?(?:摘\s*要|提\s*要)|中文摘要"),
    ("keywords", r"[关關]\s*[键鍵]\s*[词字詞]|主[题題][词詞]"),
    ("identifier", r"中[图圖]分[类類][号號]|分[类類][号號]|文[献獻][标標][识識][码碼]|文章[编編][号號]|收稿日期|修回日期|[录錄]用日期|"
                   r"出版日期|[发發]布日期|基金[项項]目|基金[资資]助|[项項]目基金|DOI|ISSN|ISBN|CN\s*\d"),
    ("author", r"作者[简簡]介|通[讯訊]作者|作者[单單]位|作\s*者|[责責]任[编編][辑輯]"),
)
_LATIN_KIND_LABELS = (
    ("abstract", r"abstract(?:\s*/\s*summary)?|summary"),
    ("keywords", r"key\s*-?words?(?:\s*/\s*search\s+tags)?|index\s+terms"),
    ("identifier", r"doi|issn|isbn|e-issn|received|revised|accepted|published(?:\s+online)?|online|article\s+history|"
                   r"(?:to\s+)?cite\s+this\s+article|to\s+link\s+to\s+this\s+article|funding\s+for\s+this\s+(?:research|work|study|article)\s+was\s+provided\s+by|funding(?:\s+(?:information|statement|sources?))?|fund(?:ed)?\s+by|fund(?:ing)?\s+projects?|"
                   r"foundation\s+items?|clc\s+(?:number|no\.?)|"
                   r"document\s+code|article\s+id|jel(?:\s+classification)?"),
    ("author", r"corresponding\s+authors?|about\s+the\s+authors?|authors?|author\s+information|affiliations?"),
)
_LABEL = LazyPattern(
    _LEAD + _OPEN + "(?:"
    + "|".join(f"(?P<{kind}>{pattern}){_CJK_END}" for kind, pattern in _CJK_KIND_LABELS)
    + "|" + "|".join(f"(?P<{kind}_latin>{pattern}){_LATIN_END}" for kind, pattern in _LATIN_KIND_LABELS)
    + "|" + "|".join(f"(?P<{kind}_spaced>{pattern}){_SPACED_END}" for kind, pattern in _SPACED_LABELS)
    + f"|(?P<identifier_declaration>{_DECLARATION_LABELS}){_DECLARATION_END}"
    + ")",
    re.IGNORECASE,
)
# A journal issue line: "理论与现代化 2018年4期", "《学报》2025年第4期", "2024, Vol. 40 ›› Issue (3): 127-141."
_ISSUE = re.compile(r".{0,40}?(?:\d{4}\s*年\s*第?\s*\d{1,2}\s*期|\bVol\.?\s*\d+.{0,12}(?:No\.?|Issue)\s*\(?\d+)")
_REFERENCES_HEADING = re.compile(
    r"\s*(?:\d{1,2}\.?\s*)?(?:参考文献|參考文獻|引用文献|references|bibliography|works\s+cited|literature\s+cited)\s*[:：]?\s*",
    re.IGNORECASE,
)
# A line that ends a references section (at most 60 characters, alone or as a line's label): an appendix, an
# attachment or annex, the acknowledgements, the contributors' notes (附件 and Annex, 作者简介 and "Notes on
# contributors" after the references were kind reference, not coded, probe BJ4, BJ5); the notes, a postscript,
# supplementary material, a table's or a figure's caption (注释：, 后记, Endnotes, "Table 1. ...", 图2, probe BM6:
# the notes after the references were kind reference); a book's next chapter (Chapter 4, 第四章) and a note (注：...,
# probe BP6). The English notes and captions with their capital, so that
# a wrapped reference's next line ("notes from the delta. Beijing.") goes on.
_END_OF_REFERENCES = re.compile(
    r"\s*(?:(?:附\s*[录錄件表](?:\s*[一二三四五六七八九十]{1,3})?|致\s*谢|致\s*謝|作者[简簡]介|注\s*[释釋]|[后後]\s*[记記])"
    r"(?![\u4e00-\u9fff])|附\s*[录錄件表]\s*[一二三四五六七八九十]{1,3}\s*[、.．:：]"
    r"|[表图圖]\s*\d{1,3}(?![\d.])"
    r"|第[一二三四五六七八九十百\d]{1,3}[章篇](?![\u4e00-\u9fff]{0,2}[,，.。])|注\s*[:：]|(?:Chapter|CHAPTER)\s+(?:\d{1,3}|[IVXLC]{1,6})(?![\d.,:])"
    r"|(?i:appendix|appendices|annex(?:es)?|acknowledge?ments?|notes\s+on\s+(?:the\s+)?contributors?|about\s+the\s+authors?"
    r"|biographical\s+notes?|author\s+biograph(?:y|ies))\b"
    r"|(?:Notes|NOTES|Endnotes|ENDNOTES|End\s+notes)[^\S\n]*[:：.]?[^\S\n]*$"
    r"|(?:Supplementary|SUPPLEMENTARY)\s+(?i:materials?|data|information)\b|(?:Table|TABLE|Figure|FIGURE|Fig\.)\s*\d{1,3}\b)",
)
_REFERENCE_ENTRY = re.compile(r"\s*[\[［]\d{1,3}[\]］]\s*\S.{8,}")
_CITATION = re.compile(r"[\[［][JMNCDRSPZGA](?:/OL)?[\]］]|\b(?:19|20)\d{2}\b")
# Numbered headings: 第一章, 一、, （一）, 1. / 1.1 / 2.1.2., I. / IV.
_NUMBERED_HEADING = LazyPattern(
    r"\s*(?:第[一二三四五六七八九十百\d]{1,3}[章节節部篇]|[一二三四五六七八九十壹贰貳叁參肆柒捌玖拾]{1,3}[、.．]|[（(][一二三四五六七八九十\d]{1,2}[）)]"
    r"|\d{1,2}(?:\.\d{1,2}){0,3}\.?(?=\s*[A-Z" + CJK_CHARS + r"])|[IVX]{1,5}\.(?=\s+[A-Z]))\s*\S"
)
_HEADING_WORDS = LazyPattern(
    r"\s*(?:引\s*言|前\s*言|导\s*言|導\s*言|绪\s*论|緒\s*論|结\s*语|結\s*語|结\s*论|結\s*論|结束语|余\s*论|"
    r"introduction|conclusions?|discussion|background|literature\s+review|methods?|methodology|results?|"
    r"concluding\s+remarks)\s*[:：]?\s*",
    re.IGNORECASE,
)
_SENTENCE_INSIDE = re.compile(r"[。！？；;]|[.!?](?=\s+[A-Z])")
_DATE_ONLY = re.compile(r"[\s\d:/.,年月日-]*|[A-Z][a-z]{2,8}\.?\s+\d{1,2},\s*\d{4}|\d{1,2}\s+[A-Z][a-z]{2,8}\.?\s+\d{4}")
_FIELD = LazyPattern(rf"\s*(?:[A-Za-z][A-Za-z /]{{1,20}}|{_CJK_CLASS}{{2,6}})\s*[:：]")
_DATE_PREFIX = r"(?:\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?\s*)?"
_CJK_NAME = rf"{_CJK_CLASS}(?:\s?{_CJK_CLASS}){{1,3}}[\d*,，]*"
_CJK_AUTHORS = LazyPattern(
    rf"{_LEAD}{_DATE_PREFIX}(?:作\s*者\s*[:：]?\s*)?(?:{_CJK_NAME}(?:[\s,，、;；]+{_CJK_NAME}){{0,7}}|{_CJK_CLASS}{{5,12}})\s*"
)
_MARKED = LazyPattern(r"[■◎□◆◇★☆]|\d{4}-\d{1,2}-\d{1,2}|作\s*者|\S[\s,，、;；]+\S")
_NOT_NAMES = LazyPattern(r"[的之与與和在了是对對及于於为為以年月日第中个個下上]")
_DATE_START = re.compile(r"\s*\d{4}-")
_LATIN_NAME = r"[A-Z][a-z]+(?:[-'][A-Za-z]+)?(?:\s+[A-Z]\.)*(?:\s+[A-Z][a-z]+(?:-[a-z]+)?){1,2}[\d*†]*"
_LATIN_AUTHORS = LazyPattern(rf"\s*{_LATIN_NAME}(?:\s*(?:,|;|\band\b|&)\s*{_LATIN_NAME}){{1,7}}\s*")
_BY_LINE = re.compile(r"\s*By\s+[A-Z][a-z]+\s+[A-Z]")
_INSTITUTION = re.compile(
    r"大学|大學|学院|學院|研究院|研究所|研究中心|党校|黨校|科学院|科學院|University|Institute|College|Academy|School of|Department of|Faculty of"
)
_AFFILIATION_SHAPE = LazyPattern(r"\s*(?:[(（]|\d\s*[.、]|[\u00b9\u00b2\u00b3])|.*\b\d{6}\b|.*(?:大学|大學|学院|學院|研究院|研究所|研究中心|党校|黨校)[\s\d,，;；)）]*$|\s*(?:School|Department|Faculty|Institute|College|University)\s+of\b")

# The lines that may hold a label, a heading, a references heading, a reference entry or a
# "By ..." line: those tests' own patterns as a lookahead after each line break (a superset:
# after a line break only, the lookahead leaves every line start its own chance; the first line
# is matched on its own), behind a cheap test of the line's first characters.
_SPECIAL_FIRST = (
    r"[^\S\n]*(?:[•·■◎□●○◆◇▪※★☆\[【〔(（［\d第一二三四五六七八九十壹贰貳叁參肆柒捌玖拾IVX内內摘提中关關主分文收修录錄出发發基项項作通责責参參引前导導绪緒结結余]"
    r"|By|(?i:ab|su|ke|in|do|is|e-|re|ac|pu|on|ar|ci|fu|fo|cl|je|co|au|af|bi|wo|li|di|ba|me|cn|to|de|da))"
)
_SPECIAL_PREFIX = (
    f"(?={_SPECIAL_FIRST})(?:(?i:{_LABEL.pattern})|{_NUMBERED_HEADING.pattern}|(?i:{_HEADING_WORDS.pattern})"
    f"|(?i:{_REFERENCES_HEADING.pattern})|{_REFERENCE_ENTRY.pattern}|{_BY_LINE.pattern})"
)
_ASCII_SPACES = frozenset(" \t\r\x0b\x0c\x1c\x1d\x1e\x1f")
_SPECIAL_ASCII_FIRST = frozenset("0123456789[(|") | _ASCII_SPACES
# The first three letters (lowercased) of each Latin label, heading word and references heading.
_SPECIAL_HEADS = frozenset(
    "abs sum key ind doi iss isb e-i rec rev acc pub onl art cit fun fou clc doc jel cor abo aut aff "
    "ref bib wor lit int con dis bac met res dec com dat".split() + ["to "]
)
# "CN 11-1234", "By A. Author", and roman section numbers ("IV. Results")
_SPECIAL_TWO = frozenset({"CN", "Cn", "cN", "cn", "By"} | {first + second for first in "IVX" for second in "IVX."})
_SPECIAL_START = LazyPattern(_SPECIAL_PREFIX, re.MULTILINE)


class _FirstCharacters(dict):
    """A line's first three characters -> may the line be special (_special_lines' cheap look),
    remembered: one dictionary look-up a line instead of four tests. At most _REMEMBERED of them."""

    def __missing__(self, head: str) -> bool:
        may = bool(head) and (head[0] in _SPECIAL_ASCII_FIRST or head.lower() in _SPECIAL_HEADS
                              or head[:2] in _SPECIAL_TWO or not head.isascii())
        if len(self) < _REMEMBERED:
            self[head] = may
        return may


_REMEMBERED = 20_000
_MAY_START_SPECIAL = _FirstCharacters()

_CONTINUES = frozenset({"abstract", "keywords", "reference"})  # these run on over the following lines
# A funding or declaration label alone in its paragraph ("基金项目：", "Funding:", "Disclosure statement")
# gives its kind, identifier, to the next paragraph (the grant's text, the declaration), as 摘要 does to the
# abstract; only to a short one that reads as one (_follows_label), not to a section of the body under a
# heading "Funding".
_CARRIES_IDENTIFIER = LazyPattern(
    _LEAD + _OPEN + r"(?:基金[项項]目|基金[资資]助|[项項]目基金|funding\s+for\s+this\s+(?:research|work|study|article)\s+was\s+provided\s+by|funding(?:\s+(?:information|statement|sources?))?|fund(?:ed)?\s+by|"
    r"fund(?:ing)?\s+projects?|foundation\s+items?|(?P<declaration>" + _DECLARATION_LABELS + "))" + _LATIN_END,
    re.IGNORECASE,
)
# The labels that take the next lines of their paragraph, alone on their line, only before their own text: a
# declaration's wording after a declaration label, a grant's text after the funding labels added since 4ad624d
# ("Conflicts of interest\nMembers must declare any personal interest ..." was identifier, probe BJ1), and the
# older bare ones too ("Funding", 基金项目: probe BR).
_TAKES_ITS_TEXT_ONLY = LazyPattern(
    _LEAD + _OPEN + r"(?:(?P<declaration>" + _DECLARATION_LABELS + r")|funding\s+(?:information|statement|sources?|for\s+this\s+(?:research|work|study|article)\s+was\s+provided\s+by)|fund(?:ing)?\s+projects?"
    # ...and a bare "Funding" or 基金项目 alone on its line: a report's own section so headed, its text on the next
    # lines, is the body's ("Funding\nThe European Regional Development Fund supports ...", probe BR)
    r"|(?:funding|基金[项項]目|基金[资資]助)(?=[^\S\n]*[:：]?[^\S\n]*$))",
    re.IGNORECASE,
)
_GRANT_LINE_MAX = 300  # characters: a grant line or a declaration (at most two sentences), not a report's paragraph
# A grant number in a grant's form ("15BJL038", "(71874032)", "[ES/N01877X/1]", "Grant No. 71874032", "grant
# number ...", 批准号, "grant agreement No 870691", "Grant 123"). Not any number of five digits, "COVID-19",
# "grant agreement" alone (probe BG2).
_GRANT_NUMBER = LazyPattern(
    r"\b\d{2}[A-Z]{1,4}\d{3,6}\b"
    r"|[(（\[【]\s*(?:(?:Grant\s+)?No\.?\s*|批准号[:：]?\s*|[编編][号號][:：]?\s*)?"
    r"(?:\d{6,}|(?=[A-Z\d/-]*[A-Z])(?=[A-Z\d/-]*?\d{3})[A-Z\d][A-Z\d/-]{4,})\s*[)）\]】]"
    r"|\b(?:[Gg]rants?\s+)?(?:Nos?\.|No|Number|#)\s*:?\s*[A-Z]{0,6}[-/]?\d{5,}"
    r"|(?i:\bgrants?\s+(?:nos?\b|numbers?\b|#|agreement\s+(?:no\.?\s*)?\d{4,}))|\bGrants?\s+[A-Z]{0,6}[-/]?\d{3,}\b"
    r"|批准[号號]|[项項]目[编編][号號]|[编編][号號][:：]"
)
# A funder's name (国家社会科学基金, 教育部人文社会科学研究基金, "National Natural Science Foundation", "Research
# Council"; not 国家自然科学基金委员会, the body that grants): a grant's sign only in a grant's title line
# (_is_grant_line), never in a sentence.
_FUNDER_NAME = LazyPattern(
    r"(?:社会科学|社會科學|自然科学|自然科學|社科)[^，,。\n]{0,12}(?:基金|[项項]目|[规規][划劃])(?![委会會])"
    r"|(?i:national\s+(?:natural\s+|social\s+)?science\s+(?:foundation|fund)|(?:research|grants)\s+council|science\s+foundation)"
)
# A grant's title line: one clause, no comma or semicolon (a report's sentence runs on: "受省财政厅资助，联席会议办公室
# 每年组织两次培训", probe BM1), ending in Chinese in a grant's noun or a quoted title.
_GRANT_TITLE_END = re.compile(r"(?:基金|[项項]目|[课課][题題]|成果|[资資]助|[规規][划劃]|[”」』》)）])[。.]?\s*$")
_CLAUSE_MARK = re.compile(r"[，,；;、]")
# ...or, in English, the whole of "Supported by the Joint Meeting Research Fund." (one clause, nothing after the funder).
_FUNDED_BY = re.compile(r"\s*(?:(?:partly|partially|financially|jointly)\s+)?(?:supported|funded|financed|sponsored)\s+by\b",
                        re.IGNORECASE)
# ...which counts in a grant line only: at most _GRANT_LINE_MAX characters and two sentences, and in English no
# verb of a report's sentence (is, was, has ...) unless the words before it name the work or its support
# ("Wei Li's work on this article was supported by ... [grant number ES/N01877X/1]", "Financial support was
# received from ... (Grant No. 71874032)", probe BM5). "Each joint meeting ... is financed by the European Regional
# Development Fund (grant agreement No 870691) and the partner regions." is a report's (probe BJ2).
_GRANT_SENTENCE_END = re.compile(r"[。！？!?]|(?<![A-Z])(?<!\bNo)(?<!\bNos)(?<!\bno)(?<!\bnos)\.(?=\s|$)")
_REPORT_VERB = re.compile(r"\b(?:is|are|was|were|has|have|had|will|would|shall|should|can|could|may|must|does|did)\b", re.IGNORECASE)
_FUNDERS_ROLE = re.compile(r"\bthe\s+funders?\s+(?:had|has|have|did)\s+(?:no|not)\b[^.]*", re.IGNORECASE)  # "The funders had no role ..."
_FUNDED_SUBJECT = re.compile(r"\b(?:work|research|study|article|paper|project|publication|authors?|support|funding|grants?)\b",
                             re.IGNORECASE)
# A journal's declaration or a short answer under its label, as the WHOLE paragraph (at most two sentences and
# _GRANT_LINE_MAX characters): known wordings only. A paragraph merely opening with a declaration's or a funding
# sentence's words ("Not applicable to the joint meeting, which ...", "There are no conflicts of interest between
# the plans of the two provinces, because ...", "No funding was set aside for the joint meeting until 2015, when
# ...", "Supported by the provincial government, the joint meeting ...") is the body's (probe BM2, BM4).
_TOPIC_REST = r"[^.;!?]*(?:\.|$)"  # the rest of the declaration's sentence
# An unlabeled "The authors state/report ... no conflict of interest" ends where the declaration ends: "... no conflict
# of interest between the two provinces' water plans, since ..." and "... reported no conflicting evidence on ..." are
# the body's (probe BP3).
_INTERESTS = (r"(?:conflicts?\s+of\s+interests?|(?:competing|conflicting)\s+(?:financial\s+)?interests?(?:\s+or\s+personal\s+relationships?)?)")
_INTERESTS_END = (r"(?:\s+(?:to\s+(?:declare|report|disclose)|exists?|that\s+could\s+have\s+appeared\s+to\s+influence\s+the\s+work\s+reported\s+in\s+"
                  r"this\s+(?:paper|article)|(?:in|with\s+respect\s+to|regarding|concerning|related\s+to|in\s+relation\s+to|for)\s+(?:[\w/-]+,?\s+){0,6}?"
                  r"(?:this|the)\s+(?:work|study|research|article|paper|manuscript|publication)(?:\s+of\s+this\s+(?:paper|article))?))*\s*\.?")
_DECLARATION = LazyPattern(
    r"\s*(?i:"
    # the short answers
    r"(?:none|nil|n/?a|not\s+applicable|none\s+declared|nothing\s+to\s+declare|none\s+to\s+declare)\s*\.?"
    r"|no\s+(?:specific\s+|external\s+)?funding\s+was\s+received(?:\s+for\s+this\s+(?:work|study|research|article)"
    r"|\s+to\s+assist\s+with\s+the\s+preparation\s+of\s+this\s+manuscript)?\s*\.?"
    # conflicts and interests
    r"|no\s+potential\s+conflicts?\s+of\s+interests?\s+(?:was|were)\s+reported(?:\s+by\s+the\s+authors?(?:\s*\(s\))?)?\s*\.?"
    r"|(?:there\s+(?:is|are)\s+)?no\s+(?:known\s+|potential\s+)?(?:conflicts?\s+of\s+interests?|competing\s+(?:financial\s+)?interests?)"
    r"(?:\s+(?:to\s+(?:declare|report|disclose)|(?:was|were|is|are)\s+(?:declared|reported|disclosed)))?\s*\.?"
    r"|the\s+authors?(?:\s*\(s\))?\s+(?:declares?|declared|reports?|reported|ha(?:s|ve)|states?|confirms?)\s+(?:(?:that\s+)?(?:they\s+ha(?:ve|s)|"
    r"there\s+(?:is|are|was|were))\s+)?no\s+(?:known\s+)?(?:potential\s+)?" + _INTERESTS + _INTERESTS_END
    # PLOS's
    + r"|the\s+authors?\s+ha(?:s|ve)\s+declared\s+that\s+no\s+(?:competing|conflicting)\s+interests?\s+exists?\s*\.?"
    + r"|the\s+authors?(?:\s*\(s\))?\s+certif(?:y|ies)\s+that\s+(?:they\s+ha(?:ve|s)|there\s+(?:is|are))\s+no\s+affiliations?\s+with\s+or\s+"
    r"involvement\s+in\b" + _TOPIC_REST  # Springer's
    + r"|on\s+behalf\s+of\s+all\s+(?:the\s+)?(?:co-?)?authors,?\s+the\s+corresponding\s+author\s+states\s+that\s+there\s+is\s+no\s+"
    r"conflicts?\s+of\s+interests?\s*\.?"
    # funding
    r"|the\s+authors?(?:\s*\(s\))?\s+received\s+no\s+(?:specific\s+)?(?:financial\s+support|funding|grant)\b" + _TOPIC_REST
    + r"|this\s+(?:work|research|study)\s+(?:received\s+no|did\s+not\s+receive\s+any)\s+(?:specific\s+)?(?:grant|funding|financial\s+support)\b"
    + _TOPIC_REST
    + r"|open\s+access\s+funding\s+(?:provided|enabled|organi[sz]ed)\s+by\b" + _TOPIC_REST  # Springer's, under its label
    # data (Elsevier's, Taylor & Francis' answers: probe BM7)
    + r"|data\s+sharing\s+(?:is\s+)?not\s+applicable\b" + _TOPIC_REST
    + r"|the\s+data\s+that\s+supports?\s+the\s+findings\s+of\s+this\s+(?:study|article)\s+(?:are|is)\s+(?:openly\s+|publicly\s+)?available\b"
    + _TOPIC_REST
    + r"|(?:the\s+)?data\s+will\s+be\s+made\s+available\s+on\s+(?:reasonable\s+)?request\s*\.?"
    r"|the\s+authors?\s+do\s+not\s+have\s+permission\s+to\s+share\s+(?:the\s+)?data\s*\.?"
    r"|the\s+data\s+that\s+(?:has|have)\s+been\s+used\s+(?:is|are)\s+confidential\s*\.?"
    r"|(?:the\s+)?research\s+data\s+(?:are|is)\s+not\s+shared\s*\.?"
    r"|no\s+data\s+(?:was|were)\s+used\s+for\s+the\s+research\s+described\s+in\s+the\s+article\s*\.?"
    r")\s*"
)
# A journal's declaration, a paragraph of its own even with no label before it (Taylor & Francis, Elsevier,
# SAGE, Wiley wordings): kind identifier. Its known wordings (_DECLARATION, but not the short answers, which
# need their label), or "This work was supported by" with a grant number in a grant's form: "This work was
# supported by all member cities, ..." and "This research was supported by interviews with officials of ...
# the Department of Water Resources" are the body's (probe BG2, BM3).
_STATEMENT = LazyPattern(
    r"\s*(?i:no\s+potential\s+conflicts?|the\s+authors?|on\s+behalf|this\s+(?:work|research|study)\s+(?:received|did)|data\s+sharing"
    r"|the\s+data\s+that\s+supports?)"
    r"|\s*(?P<supported>(?i:this\s+(?:work|research)\s+(?:was|is|has\s+been)\s+(?:partly\s+|partially\s+|financially\s+|jointly\s+)?"
    r"(?:supported|funded|financed|sponsored)\s+(?:in\s+part\s+)?by\b))"
)
# A Markdown ATX heading, in a .md file: up to three spaces, one to six #, a space, its text (group 1: to the text).
_ATX_HEADING = re.compile(r"^( {0,3}#{1,6}[ \t]+)\S[^\n]*$", re.MULTILINE)
# A .md file's other headings, which end a references section as an ATX one does (probe BQ1): an HTML heading,
# a line all bold ("**Findings**"), a line underlined with = or - (setext).
_HTML_OR_BOLD_HEADING = re.compile(r" {0,3}(?:<h[1-6][\s>]|(\*\*|__)\S[^\n]*?\S?\1\s*$)", re.IGNORECASE)
_SETEXT_UNDERLINE = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")

# A fenced code block's fence, in a .md file: its lines ("# comment") are no headings (probe BG5).
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})([^\n]*)$", re.MULTILINE)
# "To cite this article: <authors> (2013) <title>,\n<journal>, 35:6, 669-687, DOI:\n10.1080/..." (a PDF's
# cover page) runs on over the next lines of its paragraph to a sentence's end, past the colons.
_CITE_THIS = LazyPattern(_LEAD + _OPEN + r"(?:to\s+)?cite\s+this\s+article", re.IGNORECASE)
# ...but it ends at the line holding the DOI ("DOI: 10.1080/...", "https://doi.org/..."; a line ending "DOI:"
# runs on to the number), and after at most _CITATION_LINES lines: the body pasted right under it, with no
# blank line between (a PDF viewer's copy), was identifier (probe BG3).
_DOI_NUMBER = re.compile(r"\b10\.\d{4,9}/\S|doi\.org/", re.IGNORECASE)
_CITATION_LINES = 4


def _line_label(line: str) -> tuple[str, bool] | None:
    """(kind, value follows on the same line) for a labelled line: 摘要, Keywords, 中图分类号, DOI, 作者简介..."""
    match = _LABEL.match(line)
    if match is None:
        return None
    kind = next(name for name, value in match.groupdict().items() if value is not None).partition("_")[0]
    return kind, bool(line[match.end():].strip())


def _is_title_like(line: str) -> bool:
    """Short, no sentence inside it, not ending in a clause mark, not a date or a "Field: value" line, not
    a web page's menu or breadcrumb (_is_chrome)."""
    stripped = line.strip()
    if not 4 <= len(stripped) <= 200 or stripped[-1] in ".。;；,，:：、" or _SENTENCE_INSIDE.search(stripped):
        return False
    if _is_chrome(stripped):
        return False
    if _DATE_ONLY.fullmatch(stripped) or _ISSUE.match(stripped):
        return False
    cjk = len(_CJK_RE.findall(stripped))
    return cjk >= 4 or len(stripped.split()) >= 3


# Words of a web page's frame: a pasted menu, search box or breadcrumb before the abstract was taken for the
# title ("Navbar Search Filter Mobile Enter search term Search", "网站首页 | 网站地图"), probe M4.
_CHROME = LazyPattern(r"(?i)\b(?:search|menu|navbar|login|log in|sign in|sign up|register|home|filter|mobile|subscribe|"
                      r"share|print|skip to (?:main )?content)\b|首页|首頁|网站地图|網站地圖|登录|登錄|注册|註冊|搜索|返回|打印|关闭|關閉")


def _is_chrome(line: str) -> bool:
    """Two words of a page's frame (or one, beside a | or > separator), in a short line."""
    found = {match.group().lower() for match in _CHROME.finditer(line)}
    return len(found) >= 2 or (len(found) == 1 and ("|" in line or ">" in line or "›" in line))


def _is_author(line: str, *, after_title: bool, institution: bool = True) -> bool:
    """An author line (names, "By ...") or an affiliation line, read only in the front matter.

    `institution=False` says the paragraph names no institution, so the line does not either.
    """
    stripped = line.strip()
    if len(stripped) > 300:
        return False
    if institution and _INSTITUTION.search(stripped) and _AFFILIATION_SHAPE.match(stripped):
        return True
    if _BY_LINE.match(stripped):
        return True
    if len(stripped) <= 60 and _LATIN_AUTHORS.fullmatch(stripped):
        return True
    if len(stripped) <= 40 and _CJK_AUTHORS.fullmatch(stripped):
        cjk = len(_CJK_RE.findall(stripped))
        if _NOT_NAMES.search(stripped):
            return False  # 的 之 与 于 ...: a wrapped title or a phrase, not names
        core = stripped.lstrip("•·●○▪※ \t")  # list bullets are not author marks
        if cjk >= 5 and not _MARKED.search(core.lstrip("■◎□◆◇★☆ ")):
            return after_title and not _DATE_START.match(core)
        # Names marked (■, a date, 作者) or separated count anywhere in the front matter; a lone
        # name or names run together ("方浩伟", "曾凡军黄炜杨舜清") only right after a title.
        return cjk <= 16 and (_MARKED.search(core) is not None or after_title)
    return False


def _ends_references(line: str) -> bool:
    """A paragraph opening with a short section heading or a label ("一、引言", "1. Introduction",
    "Abstract:") and no citation mark ends a references section: the references heading was a table
    of contents' line, or the file holds a second paper after the first one's references."""
    stripped = line.strip()
    label = _line_label(stripped)
    if label is not None:
        return label[0] in ("abstract", "keywords")
    return len(stripped) <= 40 and not _CITATION.search(stripped) and _heading(stripped, None)


def _heading(line: str, previous: str | None, *, short: bool = True) -> bool:
    """A section heading line: numbered and short, or a known heading word alone; conservative."""
    if len(line) > 80:
        return False
    if _HEADING_WORDS.fullmatch(line):
        return True
    number = _NUMBERED_HEADING.match(line)
    if number is None:
        return False
    rest = line[number.end() - 1:]
    if rest[-1] in ".。;；,，、:：" or _SENTENCE_INSIDE.search(rest):
        return False  # a numbered sentence or list item, not a heading
    if previous is not None and previous.strip() and previous.strip()[-1] not in _TERMINAL:
        return False  # the line before runs on into this one
    # Inside a paragraph, a line as long as the document's full lines may be the first line of a
    # wrapped heading or a run-in one ("2.1.2. Regional cooperation governance as a"): not cut.
    return short and len(line.split()) <= 14 and len(_CJK_RE.findall(line)) <= 40


# --- readable text ------------------------------------------------------------------------
# Only line breaks are examined (the text between them is never scanned), which keeps this fast.
_LINE_BREAK = re.compile(r"\n\s*")
_lstrip = str.lstrip
_WORD_BEFORE_HYPHEN = re.compile(r"(?<![^\W\d_])[^\W\d_]+(?=-$)")
_LATIN_WORD_AT_END = re.compile(r"(?<![A-Za-z])[A-Za-z]+$")
_WORD_AT_START = re.compile(r"[^\W\d_]+")
_LOWER_WORD_AT_START = re.compile(r"[a-z]+(?![^\W\d_])")
_WINDOW = 64
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_JOIN_LAST = _ASCII_LETTERS | {"-"}
_TERMINAL = frozenset(".!?:;。！？：；" + _CLOSERS)


def split_passages(document: Document, *, unit: Unit = "paragraph", max_chars: int = 1200) -> list[Passage]:
    """Split a document into passages (paragraphs, sentences or the whole document).

    `max_chars` applies to the paragraph unit only (see the module docstring for the rules).

    >>> doc = Document("a.txt", "| First line\\nsame paragraph. |\\n\\n12\\n\\nSecond.")
    >>> [(p.start, p.end, p.text) for p in split_passages(doc)]
    [(2, 28, 'First line same paragraph.'), (36, 43, 'Second.')]
    """
    return split_passages_noting_plain_text(document, unit=unit, max_chars=max_chars)[0]


def split_passages_noting_plain_text(
    document: Document, *, unit: Unit = "paragraph", max_chars: int = 1200
) -> tuple[list[Passage], list[bool]]:
    """split_passages(), and for each passage whether its text is known to be its view with the
    whitespace collapsed (`" ".join(view.split())`: no word was rejoined across a line break), which
    the recode cache would otherwise find out by collapsing every view again.

    >>> split_passages_noting_plain_text(Document("a.txt", "gover-\\nnance\\n\\nSecond  one."))[1]
    [False, True]
    """
    passages: list[Passage] = []
    plain: list[bool] = []
    for part in split_passages_in_parts(document, unit=unit, max_chars=max_chars):
        passages += part[0]
        plain += part[1]
    return passages, plain


def split_passages_in_parts(
    document: Document, *, unit: Unit = "paragraph", max_chars: int = 1200
) -> Iterator[tuple[list[Passage], list[bool]]]:
    """split_passages_noting_plain_text() a part at a time: a document longer than _SPLIT_AT_ONCE
    in the parts it is split in anyway (see _parts), numbered and placed as in the whole document, so
    that a caller can code each part and let its passages go; a shorter one in one part. The parts'
    passages joined are split_passages_noting_plain_text()'s.

    >>> [[p.text for p in part] for part, _ in split_passages_in_parts(Document("a.txt", "One.\\n\\nTwo."))]
    [['One.', 'Two.']]
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be 'paragraph', 'sentence' or 'document', not {unit!r}")
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    return _split_in_parts(document, unit, max_chars)


def splits_in_parts(document: Document, unit: Unit) -> bool:
    """Whether split_passages_in_parts() gives `document` in more than one part (a document longer than
    _SPLIT_AT_ONCE, unless its unit is the document)."""
    return unit != "document" and len(document.text) > _SPLIT_AT_ONCE


def _split_in_parts(document: Document, unit: Unit, max_chars: int) -> Iterator[tuple[list[Passage], list[bool]]]:
    text = document.text
    if not text or text.isspace():
        return
    if unit == "document" or len(text) <= _SPLIT_AT_ONCE:
        yield _split_part(text, document.path, unit, max_chars)[:2]
        return
    state, count = _START, 0
    for begin, end in _parts(text):
        passages, plain, state = _split_part(text[begin:end], document.path, unit, max_chars,
                                             offset=begin, first_index=count, front=begin == 0, state=state)
        count += len(passages)
        yield passages, plain


_BlockState = tuple[bool, str | None] | None  # see _blocks
_START: _BlockState = (False, None)

# A document longer than this is split in parts, cut at a paragraph break where it can be (see _parts),
# each part split alone: the splitter's tables of a document's lines and views grow with it (an export
# of a whole newspaper in one file), while a part's are bounded. A book is about a million characters.
_SPLIT_AT_ONCE = 2_000_000
# Where a part may end, best first: after a sentence and two blank lines (a paragraph's end even if the
# document is double spaced, where two blank lines around a page number may be inside a sentence), after
# a sentence and a blank line, a blank line, a line, a sentence, a Chinese sentence or clause, a word.
_PART_ENDS = (".\n\n\n", "。\n\n\n", ".\n\n", "。\n\n", "\n\n", ".\n", "。\n", "\n", ". ", "。", "！", "？", "．",
              "；", "，", "、", " ")


def _parts(text: str, size: int | None = None) -> Iterator[tuple[int, int]]:
    """(begin, end) of consecutive parts of `text`, each at most `size` characters (_SPLIT_AT_ONCE),
    ending after the best of _PART_ENDS found in its second half.

    >>> list(_parts("One one one.\\n\\nTwo.\\nThree three.", 20))
    [(0, 14), (14, 31)]
    """
    size = size or _SPLIT_AT_ONCE
    begin = 0
    while len(text) - begin > size:
        limit = begin + size
        end = limit
        for mark in _PART_ENDS:
            found = text.rfind(mark, begin + size // 2, limit)
            if found >= 0:
                end = found + len(mark)
                break
        yield begin, end
        begin = end
    yield begin, len(text)


def may_hold_table_rows(text: str) -> bool:
    """Whether the split may read a line of `text` as a table's row (a tab or a pipe in it), whose line
    breaks its views hold as tabs (cell ends) where the readable text has spaces."""
    return "\t" in text or "|" in text


def _split_part(text: str, path: str, unit: Unit, max_chars: int, *, offset: int = 0, first_index: int = 0,
                front: bool = True, state: _BlockState = None) -> tuple[list[Passage], list[bool], _BlockState]:
    """The passages of `text`, a document's text or the part of it that starts at `offset`, numbered
    from `first_index`; each passage's plain flag (see split_passages_noting_plain_text); and the state
    the part ends in. `front`: the part starts the document, so it may hold front matter; `state`:
    what the part before ended in (see _blocks)."""
    lines, starts, kinds, page_numbers = _line_table(text)
    view = _blank_debris(text, lines, starts, page_numbers)
    marked = None  # a Markdown document's view with its emphasis delimiters as _EMPHASIS_MARK
    unmarked = None  # and the view with them, which the readable text is made from
    if _is_markdown(path) and ("*" in view or "_" in view) and _EMPHASIS_MARK not in view:
        # Markup, not words: `**joint** meeting` is a joint meeting (blanked in the view the matcher reads).
        marked = _blank_emphasis(view, mark=_EMPHASIS_MARK)
        if marked is view:
            marked = None
        else:
            unmarked, view = view, marked.replace(_EMPHASIS_MARK, " ")
    shown = None  # with zero-width characters or pinyin glosses: the view they are left out of, for the readable text
    if not view.isascii() and any(char in view for char in _UNREAD_HINTS) and _UNREAD.search(view) is not None:
        shown, view = (unmarked if unmarked is not None else view), _unread_read(view)
    # Blanking keeps every line break where it was: the view's lines start where the text's do.
    view_lines = lines if view is text else view.split("\n")
    unmarked_lines = unmarked.split("\n") if unmarked is not None else None
    rows = _table_rows(lines) if may_hold_table_rows(text) else set()
    length = len(text)
    # Only the view is read below: when debris was blanked (the view a copy), a part's text (a slice of
    # the document's, 1-4 bytes a character) is let go here, not held beside the passages made from it.
    del text
    flat_view = view.replace("\n", " ")  # each passage's view is a slice of it
    if unit == "document":
        spans: Iterator[tuple[int, int, PassageKind]] = iter([(0, length, "body")])
    else:
        markdown = _is_markdown(path)
        blocks, state = _blocks(view, *_paragraph_lines(lines, starts, kinds), view_lines=view_lines,
                                starts=starts, front=front, state=state, markdown=markdown,
                                other_headings=_other_markdown_headings(unmarked_lines or view_lines, starts)
                                if markdown else frozenset())
        if unit == "sentence":
            spans = _sentence_spans(view, blocks)
        else:
            spans = _packed_spans(view, blocks, max_chars, flat_view=flat_view)
    breaks = _joinable_breaks(view_lines, starts, rows=rows)
    # the breaks the readable text of a passage with Markdown emphasis is made at (see below)
    unmarked_breaks = _joinable_breaks(unmarked_lines, starts, rows=rows) if unmarked_lines is not None else None
    printable = flat_view.isprintable()  # and so is each passage's view: see _collapsed
    row_breaks = _row_break_offsets(lines, starts, rows) if rows else None
    # The line tables (each line a string, twice when debris was blanked) are not read below: a 2 MB
    # part's were a fifth of what splitting it held while its passages were made; let go before a
    # table's view is made beside them.
    del lines, starts, kinds, page_numbers, view_lines
    # The views matching reads: a table row's line breaks as tabs (the readable text has spaces there).
    matched_view = _row_ends_as_tabs(flat_view, row_breaks) if row_breaks is not None else flat_view
    passages: list[Passage] = []
    plain: list[bool] = []
    last_end = 0
    for start, end, kind in spans:
        if end <= start:
            continue
        if view[start].isspace() or view[end - 1].isspace():  # most spans are trimmed already
            trimmed = _trim(view, start, end)
            if trimmed is None:
                continue
            start, end = trimmed
        if marked is not None:
            # The delimiters of a passage's first and last words are its own (`**Joint** meetings ... **held**`):
            # its text reads as written, as before they were blanked, so its segment ids stay (probe BH1).
            while start > last_end and marked[start - 1] == _EMPHASIS_MARK:
                start -= 1
            while end < length and marked[end] == _EMPHASIS_MARK:
                end += 1
            last_end = end
        flat = flat_view[start:end]
        rejoined = None
        first = bisect_left(breaks, start)
        if first < len(breaks) and breaks[first] < end:  # a line break in it may join words
            inside = breaks[first : bisect_left(breaks, end, first)]
            rejoined = _rejoined(view[start:end], [offset - start for offset in inside])
        if unmarked_breaks is not None and marked.find(_EMPHASIS_MARK, start, end) >= 0:
            # The readable text keeps the delimiters the view blanks (`The **joint** meeting`), made as it was
            # before they were blanked: a segment's id is made from it, and decisions typed on it keep (probe BH1).
            first = bisect_left(unmarked_breaks, start)
            inside = unmarked_breaks[first : bisect_left(unmarked_breaks, end, first)]
            rejoined = _rejoined(unmarked[start:end], [offset - start for offset in inside]) if inside else None
            readable = (" ".join(rejoined.split()) if rejoined is not None
                        else _collapsed(unmarked[start:end].replace("\n", " "), printable=printable))
            rejoined = ""  # not the view collapsed: the recode cache stores it
        else:
            readable = " ".join(rejoined.split()) if rejoined is not None else _collapsed(flat, printable=printable)
        if shown is not None and _UNREAD.search(shown, start, end) is not None:
            readable, rejoined = _readable(_UNREAD.sub(_as_read, shown[start:end])), ""
            if not readable:
                continue  # nothing but invisible characters
        # Passage is a frozen dataclass: its fields are set in the instance's __dict__, in the order
        # its __init__ sets them with object.__setattr__, in one update (one passage per 600 characters).
        passage = _new_object(Passage)
        passage.__dict__.update(document=path, index=first_index + len(passages), start=offset + start, end=offset + end,
                                view=flat if matched_view is flat_view else matched_view[start:end], text=readable,
                                kind=kind)
        passages.append(passage)
        plain.append(rejoined is None)
    return passages, plain, state


def sentence_boundaries(view: str) -> list[int]:
    """Offsets where a new sentence starts in `view` (fast rule, no spaCy), ascending.

    >>> sentence_boundaries("In the party.Party building. Dr. Li came. 3.5% rose。下一句")
    [13, 29, 42, 52]
    """
    cuts: list[int] = []
    length = len(view)
    matched_to = 0
    match_at = _SENTENCE_END.match
    # Every match starts at a terminator, so matching at each terminator left of where the last
    # match ended finds what finditer would, without the regex trying every character.
    for position in _terminators(view):
        if position < matched_to:
            continue
        match = match_at(view, position)
        if match is None:
            continue
        cut = matched_to = match.end()
        if cut >= length:
            break
        latin = match.group(1)
        if latin is not None:
            if view[cut].islower():
                continue  # "approx. five": probably not a sentence end
            if latin == "." and _after_abbreviation(view, match.start()):
                continue
        elif view[cut - 1] in _CLOSERS and _ATTRIBUTION.match(view, cut):
            continue  # “联席会议很有用！”他说。
        cuts.append(cut)
    return cuts


def _terminators(view: str) -> list[int]:
    """Offsets of every sentence terminator character in `view`, ascending (one fast scan per
    character present: a character class makes the regex engine test every position; str.find
    makes no match object)."""
    offsets: list[int] = []
    present = 0
    find = view.find
    for char in _TERMINATOR_CHARS:
        offset = find(char)
        if offset < 0:
            continue
        present += 1
        while offset >= 0:
            offsets.append(offset)
            offset = find(char, offset + 1)
    if present > 1:
        offsets.sort()
    return offsets


# --- helpers --------------------------------------------------------------------------------


# Invisible characters a web page or a CMS leaves inside words (zero-width space, non-joiner and joiner,
# word joiner, and a byte order mark where two files were joined): nothing to a reader.
_ZERO_WIDTH = LazyPattern("[\u200b-\u200d\u2060\ufeff]")
# A soft hyphen between CJK characters (no word to hyphenate there) is as invisible as they are (probe AG2),
# and so is a web page's no-break or ideographic space left as its HTML source wrote it, in a .txt paste of it
# (联席&nbsp;会议, probe AR3): a space between CJK characters, in these forms only (a text about HTML quotes
# entities among Latin words, and keeps them).
_ENTITY_SPACES = "&nbsp;|&#160;|&#12288;"
_UNSEEN_IN_CJK = LazyPattern(
    f"(?<=[{CJK_CHARS}])(?:[\u200b-\u200d\u2060\ufeff\u00ad]|{_ENTITY_SPACES})+(?=[{CJK_CHARS}])")
_UNSEEN_IN_CJK_TEXT = f"(?<=[{CJK_CHARS}])(?:\u00ad|{_ENTITY_SPACES})+(?=[{CJK_CHARS}])"
# The pinyin a content-farm mirror puts after a character, a syllable with a tone mark in brackets:
# 聯(lián)席會(huì)議, 長(zhǎng)三角. Nothing to the text's words: read like a zero-width character.
_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN_GLOSS_TEXT = f"[(（](?<=[{CJK_CHARS}][(（])[a-zü]{{0,5}}[{_TONE_VOWELS}][a-zü]{{0,5}}[)）]"
_PINYIN_GLOSS = LazyPattern(_PINYIN_GLOSS_TEXT)
_UNREAD = LazyPattern(f"[\u200b-\u200d\u2060\ufeff]|{_UNSEEN_IN_CJK_TEXT}|{_PINYIN_GLOSS_TEXT}")  # any of the above
# The characters without which a text holds neither: each searched for with `in` (a fast C scan),
# a quarter of the time of one regex scanning their class.
_UNREAD_HINTS = (*"\u200b\u200c\u200d\u2060\ufeff\u00ad", *_TONE_VOWELS, *_ENTITY_SPACES.split("|"))


def _as_read(unread: re.Match) -> str:
    """What a reader sees of an _UNREAD match in a passage's text: nothing, but a space where a web page's
    space entity stood (上海&#12288;江苏 reads as the character 上海\u3000江苏 does, 上海 江苏; probe BA2)."""
    return " " if "&" in unread.group() else ""


def _unread_read(view: str) -> str:
    """The view with what a reader does not read (_UNREAD) read as what the matcher skips there: a
    pinyin gloss as spaces, and so a zero-width character or an entity's space (&nbsp;) between CJK
    characters (no word break in Chinese); elsewhere a zero-width character as a soft hyphen (a word joined, or two words hyphenated,
    as rule 6 reads one). Same length, so offsets hold.

    >>> _unread_read("联\u200b席 co\u200boperation 聯(lián)席") == "联 席 co\u00adoperation 聯      席"
    True
    >>> _unread_read("联席&nbsp;会议 a&nbsp;b")
    '联席      会议 a&nbsp;b'
    """
    if "(" in view or "（" in view:
        view = _PINYIN_GLOSS.sub(lambda found: " " * len(found.group()), view)
    view = _UNSEEN_IN_CJK.sub(lambda found: " " * len(found.group()), view)
    return _ZERO_WIDTH.sub("\u00ad", view)


def _blank_debris(text: str, lines: list[str] | None = None, starts: list[int] | None = None,
                  page_numbers: list[int] | None = None) -> str:
    """The document text with every debris character replaced by a space (same length, LF kept).

    `lines`, `starts` and `page_numbers` (the numbers of the lines that are a lone page number)
    are what `_line_table` found, passed on so the lines are not split and read twice.
    """
    if lines is None or starts is None or page_numbers is None:
        lines, starts, _, page_numbers = _line_table(text)
    spans = [(starts[number], starts[number] + len(lines[number])) for number in page_numbers]
    if "|" in text:
        # Only the lines holding a pipe are read: the same matches as the MULTILINE patterns over the
        # whole text (neither looks past its line), without scanning every character for them.
        for number in [number for number, line in enumerate(lines) if "|" in line]:
            start = starts[number]
            end = start + len(lines[number])
            if _TABLE_RULE.fullmatch(lines[number]):
                spans.append((start, end))
            for pattern in (_LEADING_PIPE, _TRAILING_PIPE):
                match = pattern.search(text, start, end)
                if match is not None:
                    spans.append(match.span(1))
        spans.sort()
    if not spans:
        return text
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        start = max(start, position)
        if end <= start:
            continue
        pieces.append(text[position:start])
        pieces.append(" " * (end - start))
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _is_markdown(path: str) -> bool:
    """Is the document at `path` (its name in the corpus) a Markdown file, whose emphasis the split blanks?"""
    return path[-3:].lower() == ".md"


def blanks_markdown_emphasis(text: str, path: str) -> bool:
    """Does the split blank Markdown emphasis in the document `text` at `path` (its passages' views then
    differ from their spans' text, which their readable text keeps: see _split_part)?"""
    if not (_is_markdown(path) and ("*" in text or "_" in text)) or _EMPHASIS_MARK in text:
        return False
    view = _blank_debris(text)
    return _blank_emphasis(view) is not view


def _blank_emphasis(view: str, *, mark: str = " ") -> str:
    """The view with Markdown emphasis delimiters blanked, each character replaced by `mark` (same length,
    offsets kept): `**joint** meeting` and `_joint_ meeting` read as `joint meeting` does (probe BE5).
    `view` itself when it holds none.

    A run of one to three `*` or `_` is a delimiter as CommonMark tells one, simplified: it opens
    emphasis when a word or punctuation follows it (punctuation only after a space, a punctuation mark or
    the line's start), closes it likewise before, and a run of `_` inside a word does neither
    (`snake_case_names`). A closer is paired with the nearest opener of the same run on its line, the
    openers after that one dropped; failing one, runs of the same character and other lengths that
    only open and only close share their characters, the inner ones first (`***joint** meeting*`,
    `**joint *meeting***`: probe BH6). Nothing else is blanked: a lone `*` (`2*3`, a list's bullet
    `* item`, a footnote's `Li*,`), an escaped `\\*`, a run inside a `code span` or a fenced code block (probe
    BO), or a run of four or more.

    >>> _blank_emphasis("The **joint** meeting, _joint_ meeting, snake_case_name, 2*3, * item, 联席**会议**。")
    'The   joint   meeting,  joint  meeting, snake_case_name, 2*3, * item, 联席  会议  。'
    >>> _blank_emphasis("The ***joint** meeting* and **joint *meeting***.")
    'The    joint   meeting  and   joint  meeting   .'
    """
    lines = view.split("\n")
    changed = False
    code = _code_blocks(view)  # whose lines are code, not emphasis
    at = 0  # where the line starts
    for number, line in enumerate(lines):
        start, at = at, at + len(line) + 1
        if ("*" not in line and "_" not in line) or (code and _in_code(code, start)):
            continue
        blanked = _emphasis_delimiters(line)
        if blanked:
            characters = list(line)
            for start, length in blanked:
                characters[start:start + length] = mark * length
            lines[number] = "".join(characters)
            changed = True
    return "\n".join(lines) if changed else view


def _emphasis_delimiters(line: str) -> list[tuple[int, int]]:
    """(start, length) of the emphasis delimiters of one line that _blank_emphasis blanks.

    Linear in the line's length (probe BH2: a line of unpaired `**x` and `y*` took a minute): the open
    delimiters are one list in line order, with a stack of them per run and per character; an opener
    paired drops those after it, each marked dropped once and popped from its stacks when met on top.
    """
    code = [match.span() for match in _CODE_SPAN.finditer(line)] if "`" in line else []
    code_starts = [begin for begin, _ in code]
    # an open delimiter: [start, length, character, only opens, still open]
    openers: list[list] = []
    by_run: dict[tuple[str, int], list[list]] = {}
    by_character: dict[str, list[list]] = {"*": [], "_": []}
    blanked: list[tuple[int, int]] = []

    def nearest(stack: list[list]) -> list | None:
        while stack and not stack[-1][4]:
            stack.pop()
        return stack[-1] if stack else None

    def pair(opener: list, length: int) -> None:
        """Blank `length` characters of `opener` (its inner ones) and drop the openers after it."""
        place = opener[5]
        for dropped in openers[place + 1:]:
            dropped[4] = False
        del openers[place + 1:]
        blanked.append((opener[0] + opener[1] - length, length))
        by_run[opener[2], opener[1]].pop()  # on top: those after it are dropped
        opener[1] -= length
        if opener[1]:
            by_run.setdefault((opener[2], opener[1]), []).append(opener)
        else:
            opener[4] = False
            openers.pop()

    for run in _EMPHASIS_RUN.finditer(line):
        start, end = run.span()
        if code:
            inside = bisect_right(code_starts, start) - 1
            if inside >= 0 and start < code[inside][1]:
                continue
        before = line[start - 1] if start else " "
        after = line[end] if end < len(line) else " "
        before_mark, after_mark = _is_mark(before), _is_mark(after)
        opens = not after.isspace() and (not after_mark or before.isspace() or before_mark)
        closes = not before.isspace() and (not before_mark or after.isspace() or after_mark)
        character, length = line[start], end - start
        if character == "_":
            opens, closes = opens and (not closes or before_mark), closes and (not opens or after_mark)
        if closes:
            opener = nearest(by_run.get((character, length), []))
            if opener is not None:  # the same run: `**joint**`
                nearest(by_run[character, length])
                pair(opener, length)
                blanked.append((start, length))
                continue
            if not opens:  # runs of other lengths that only open and only close: `***joint** meeting*`
                position = start
                while length and (opener := nearest(by_character[character])) is not None and opener[3]:
                    shared = min(length, opener[1])
                    nearest(by_run[character, opener[1]])
                    pair(opener, shared)
                    blanked.append((position, shared))
                    position, length = position + shared, length - shared
                if position > start:
                    continue
        if opens:
            opener = [start, length, character, not closes, True, len(openers)]
            openers.append(opener)
            by_run.setdefault((character, length), []).append(opener)
            by_character[character].append(opener)
    return blanked


def _is_mark(character: str) -> bool:
    """A punctuation mark or symbol, as CommonMark's flanking rules count one (neither a letter, a
    digit nor white space)."""
    return not character.isalnum() and not character.isspace()


def _line_table(text: str) -> tuple[list[str], list[int], list[int], list[int]]:
    """The document's lines, the offset where each starts, each line's kind (blank, page number
    or note marker, text) and the numbers of the lines that are a lone page number (debris)."""
    lines = text.split("\n")
    # accumulate over C callables only: no Python frame per line
    starts = list(accumulate(map((1).__add__, map(len, lines)), initial=0))
    kinds, page_numbers = _classify_lines(lines)
    return lines, starts, kinds, page_numbers


def _classify_lines(lines: list[str]) -> tuple[list[int], list[int]]:
    kinds = [_TEXT if line and not line.isspace() else _BLANK for line in lines]
    page_numbers = []
    # Only a short line can be a page number or a note marker.
    for number in [number for number, line in enumerate(lines) if 0 < len(line) <= 40]:
        if kinds[number] == _TEXT:
            line = lines[number]
            if _PAGE_NUMBER.fullmatch(line):
                kinds[number] = _PAGE
                page_numbers.append(number)
            elif _NOTE_MARKER.fullmatch(line):
                kinds[number] = _PAGE
    running = _running_lines(lines, kinds)
    if running:
        for number in running:
            kinds[number] = _PAGE
        page_numbers = sorted([*page_numbers, *running])
    return kinds, page_numbers


_WITHOUT_EDGE_NUMBERS = methodcaller("strip", "0123456789 \t\r\x0b\x0c\xa0\u3000")  # a header's page number
_RUNNING_LINE_MAX = 120  # a running header or footer is one short line
_RUNNING_REPEATS = 3
_RUNNING_LINE_GAP = 10  # lines, at the least, between a running header and its next copy (the median gap)
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_SENTENCE_ENDS = frozenset(".!?。！？…")
_YEAR = re.compile(r"(?:19|20)\d\d")
_EDGE_NUMBER = re.compile(r"^\s*\d{1,4}(?!\d)|(?<!\d)\d{1,4}\s*$")
_SPACED_EDGE_NUMBER = re.compile(r"^\s*\d{1,4}\s|\s\d{1,4}\s*$")


def _running_lines(lines: list[str], kinds: list[int]) -> list[int]:
    """The lines of a PDF paste's running headers and footers ("Journal of Regional Governance",
    "116 ZHANG: Collaborative Governance", "中国行政管理 2019年第5期"): a line of at least 10 letters or
    4 CJK characters, ending no sentence, found at least three times alike but for the number at its
    start or end (its page), at least twice and in half of them at a page break (_at_page_break)."""
    keys = list(map(_WITHOUT_EDGE_NUMBERS, lines))  # C-level: no Python frame per line
    counts = Counter(keys)
    counts.pop("", None)
    if not counts or max(counts.values()) < _RUNNING_REPEATS:
        return []
    repeated = {key for key, count in counts.items() if count >= _RUNNING_REPEATS and len(key) <= _RUNNING_LINE_MAX
                and (len(_LATIN_LETTER.findall(key)) >= 10 or len(_CJK_RE.findall(key)) >= 4)}
    if not repeated:
        return []
    # (a line ending a sentence is no header: a repeated question, a refrain)
    at = [number for number, key in enumerate(keys) if key in repeated and kinds[number] == _TEXT
          and lines[number].rstrip()[-1] not in _SENTENCE_ENDS]
    skipped = set(at)
    copies: dict[str, list[int]] = {}  # each repeated line's copies, in one pass (not a pass per line)
    for number in at:
        copies.setdefault(keys[number], []).append(number)
    # Lone numbers closer than a page apart are a table's cells or a list's numbers, not page numbers.
    page_gap = _median_gap([number for number, kind in enumerate(kinds) if kind == _PAGE])
    paged = page_gap is None or page_gap >= _RUNNING_LINE_GAP
    found: list[int] = []
    for numbers in copies.values():
        if len(numbers) < _RUNNING_REPEATS:  # some of its copies end a sentence: a question, a refrain
            continue
        # Once a page, far apart: a table's row label or a list's line comes back every few lines.
        if _median_gap(numbers) < _RUNNING_LINE_GAP:  # (three copies or more: never None)
            continue
        # A page number of its own goes up from copy to copy ("Participant 1", "Participant 2" do not; an
        # issue number the same in every copy is no page number, and the line may be a header still).
        own = [int(edge.group()) for edge in map(_EDGE_NUMBER.search, (lines[number] for number in numbers)) if edge]
        if len(set(own)) > 1 and (len(own) < len(numbers) or any(later <= earlier for earlier, later in zip(own, own[1:]))):
            continue
        breaks = sum(_at_page_break(lines, kinds, number, skipped, paged=paged) for number in numbers)
        if breaks >= 2 and 2 * breaks >= len(numbers):
            found.extend(numbers)
    return sorted(found)


def _median_gap(numbers: list[int]) -> int | None:
    """The median of the gaps between ascending line numbers (the upper one of an even count); None for
    fewer than two."""
    gaps = sorted(later - earlier for earlier, later in zip(numbers, numbers[1:]))
    return gaps[len(gaps) // 2] if gaps else None


def _at_page_break(lines: list[str], kinds: list[int], number: int, skipped: set[int], *, paged: bool = True) -> bool:
    """Is line `number` at a page break: a page number among the lines around it (blank lines and the
    other `skipped` lines passed over), or a page number of its own at its start or end with a
    sentence running on across it, from the text line before to the one after? (A line a sentence
    runs on across and no more is any line of a PDF paste.)"""
    around: list[str] = []
    for step in (-1, 1):
        other = number + step
        while 0 <= other < len(lines) and abs(other - number) <= 4 and (kinds[other] != _TEXT or other in skipped):
            if paged and kinds[other] == _PAGE and _YEAR.fullmatch(lines[other].strip()) is None:  # a year is a table's cell
                return True
            other += step
        if not 0 <= other < len(lines) or kinds[other] != _TEXT:
            return False
        around.append(lines[other].strip())
    before, after = around
    edge = _SPACED_EDGE_NUMBER.search(lines[number])  # "116 Journal of ...", not "对策建议1" (a numbered heading)
    if edge is None or _YEAR.fullmatch(edge.group().strip()) is not None or before[-1] in _TERMINAL:
        return False
    if after[0].islower():
        return True
    return all(_wide_at_break(before, after)) and _LINE_LABEL.match(after) is None


def _line_kinds(lines: list[str]) -> list[int]:
    return _classify_lines(lines)[0]


def _paragraph_lines(
    lines: list[str], starts: list[int], kinds: list[int]
) -> tuple[list[list[tuple[int, int]]], int, bool]:
    """The (start, end) of each content line (text or page number), grouped by paragraph (see the
    module docstring), the document's full line length, and whether it is double spaced."""
    full = _full_line_length(lines, kinds)
    double_spaced = _is_double_spaced(lines, kinds, full=full)
    paragraphs: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    if double_spaced:
        content = [number for number, kind in enumerate(kinds) if kind == _TEXT]
    else:
        content = [number for number, kind in enumerate(kinds) if kind != _BLANK]
    # Lines that start a paragraph whatever comes before: a transcript's turns, a web paste's lines.
    own_lines = _turns(lines, kinds) if not double_spaced else frozenset()
    # Lines after a page break (a page number or a running header between blank lines) that a sentence
    # runs on into, with the page break's lines: no paragraph ends there.
    page_break = _page_breaks_inside(lines, kinds, full) if not double_spaced and _PAGE in kinds else frozenset()
    previous = -2
    for number in content:
        # A gap between content lines: in a double-spaced document only two or more blank lines
        # and no page number end a paragraph; else any blank line does.
        if current and (number in own_lines or number - previous > 1 and number not in page_break and (
            not double_spaced or (number - previous > 2 and _PAGE not in kinds[previous + 1 : number])
        )):
            paragraphs.append(current)
            current = []
        start = starts[number]
        current.append((start, start + len(lines[number])))
        previous = number
    if current:
        paragraphs.append(current)
    return paragraphs, full, double_spaced


def _page_breaks_inside(lines: list[str], kinds: list[int], full: int) -> frozenset[int]:
    """The page-break lines (page numbers, running headers) and the text line after them, where a
    sentence runs on from the text line before the break to the one after it (_runs_on)."""
    inside: set[int] = set()
    last_text = -1
    pending: list[int] = []
    for number, kind in enumerate(kinds):
        if kind == _PAGE:
            if last_text >= 0:
                pending.append(number)
        elif kind == _TEXT:
            if pending and _runs_on(lines[last_text].strip(), lines[number].strip(), full):
                inside.update(pending)
                inside.add(number)
            pending = []
            last_text = number
    return frozenset(inside)


def _blocks(
    view: str, paragraphs: list[list[tuple[int, int]]], full: int, double_spaced: bool, *,
    view_lines: list[str] | None = None, starts: list[int] | None = None, front: bool = True, state: _BlockState = None,
    markdown: bool = False, other_headings: frozenset[int] = frozenset(),
) -> tuple[list[tuple[int, int, PassageKind]], _BlockState]:
    """Paragraphs cut before (and after) front-matter and apparatus lines, each block with its kind,
    and the state the text ends in: in the references or not, and the kind a label alone in the last
    paragraph gives the next one.

    `front`: the text starts a document (else it is a later part of one, with no front matter);
    `state`: the state the part before ended in; `markdown`: a .md file, whose ATX lines ("# Title",
    "## References") are headings.

    See the module docstring for the rules. Only a line's start is matched against the labels,
    and the front-matter tests run only until the body starts, so long documents cost little more.
    """
    blocks: list[list] = []  # [start, end, kind, runs on over the next lines]
    in_front = front
    in_references, carried = state or _START  # carried: a label alone in its paragraph ("摘要:") gives its kind to the next one
    front_end = None  # the first block after the front matter
    ordered = _special_lines(view, view_lines, starts)
    if markdown and "#" in view:
        ordered = sorted({*ordered, *_atx_headings(view)})
    special = set(ordered)
    for lines in paragraphs:
        opens = carried  # the kind the paragraph's first line takes if it is not special
        if not in_references and _is_statement(view, lines[0][0], lines[-1][1]):
            opens = "statement"
        if not (in_front or in_references or opens) and (
            (after := bisect_left(ordered, lines[0][0])) == len(ordered) or ordered[after] > lines[-1][0]
        ):
            # A body paragraph with no special line: every line runs on into one body block (the
            # loop below would do the same, line by line), from its first line not blanked.
            for start, end in lines:
                if not view[start:end].isspace():
                    blocks.append([start, lines[-1][1], "body", False])
                    break
            continue
        current: list | None = None
        previous: str | None = None
        first_of_paragraph = True
        institution: list[bool] = []  # is there an institution's name in the paragraph? (asked once)
        for start, end in lines:
            line = view[start:end]
            if line.isspace():  # a blanked page number
                if current is not None:
                    current[1] = end
                continue
            kind: str | None = None
            runs_on = False
            atx = _ATX_HEADING.match(line) if markdown and start in special else None
            if atx is not None:
                line = " " * atx.end(1) + line[atx.end(1):]  # its text, read as the line's (but for the hashes)
            if in_references and (atx is not None or start in other_headings
                                  or (first_of_paragraph and _ends_references(line))):
                # (in a .md file any heading ends them; "## References" again starts them below)
                in_references = False  # a table of contents' "References", or a second paper in the file
            if in_references:
                if len(line) <= 60 and _END_OF_REFERENCES.match(line):
                    kind, in_references = "heading", False
                    if (label := _line_label(line)) is not None and label[0] == "author":  # 作者简介：, About the authors
                        kind, runs_on = "author", False if label[1] else "label"
                elif first_of_paragraph or _REFERENCE_ENTRY.match(line) or (current is not None and current[2] == "heading"):
                    # (a heading here is the references heading itself: the entries of a PDF paste
                    # start on its next line, with no blank line between)
                    kind, runs_on = "reference", True
            elif start not in special:
                # Not a label, heading or reference line: in the front matter it may still be an
                # issue or an author line (the same tests as below, in the same order).
                if in_front:
                    stripped = line.strip()
                    size = len(stripped)
                    if size <= 80 and ("年" in stripped or "Vol" in stripped) and _ISSUE.match(stripped):
                        kind = "identifier"
                    # Not a "By" line (that is special): an author line names an institution, or is
                    # names (at most 60 characters, from a capital) or at most 40 characters.
                    elif size <= 300 and (
                        size <= 40 or (size <= 60 and stripped[0].isupper()) or _names_institution(view, lines, institution)
                    ) and _is_author(stripped, after_title=size <= 40 and _after_title(view, blocks, current),
                                     institution=_names_institution(view, lines, institution)):
                        kind = "author"
            else:
                label = _line_label(line) if len(line) > 1 and atx is None else None
                stripped = line.strip()
                if atx is not None:
                    kind = "heading"
                    in_references = len(stripped) <= 80 and _REFERENCES_HEADING.fullmatch(stripped) is not None
                elif label is not None:
                    kind = label[0]
                    runs_on = _lone_label_runs_on(view, line, end, lines[-1][1]) if not label[1] else kind in _CONTINUES
                    if kind == "identifier" and label[1] and _CITE_THIS.match(line):
                        runs_on = "sentence"
                elif len(stripped) <= 80 and _REFERENCES_HEADING.fullmatch(stripped):
                    kind, in_references = "heading", True
                elif in_front and len(stripped) <= 80 and _ISSUE.match(stripped):
                    kind = "identifier"
                elif in_front and _is_author(stripped, after_title=len(stripped) <= 40 and _after_title(view, blocks, current)):
                    kind = "author"
                elif _heading(stripped, previous if current is not None and current[2] in ("body", "abstract") else None,
                              short=len(stripped) < 0.6 * full or len(lines) == 1):
                    kind = "heading"
                elif len(stripped) <= 600 and _REFERENCE_ENTRY.match(stripped) and _CITATION.search(stripped):
                    kind, runs_on = "reference", True
            if kind is None and current is not None and (
                current[2] == "body" or current[3] == "label" or current[3] == "paragraph"
                or (current[3] == "sentence" and _citation_runs_on(view, current, previous))
                or (current[3] is True and (current[2] == "reference" or double_spaced or previous.rstrip()[-1:] not in _TERMINAL))
                or (type(current[3]) is tuple and start < current[3][1])
            ):
                current[1] = end
            else:
                if current is not None:
                    blocks.append(current)
                    in_front, front_end = _still_front(view, current, in_front, front_end, len(blocks) - 1)
                if kind is None:
                    kind = "body"
                    if first_of_paragraph and opens:
                        kind, runs_on = _carried(view, lines, opens)
                current = [start, end, kind, runs_on]
            previous = line
            first_of_paragraph = False
        if current is not None:
            blocks.append(current)
            in_front, front_end = _still_front(view, current, in_front, front_end, len(blocks) - 1)
            # "摘要:" alone: the next paragraph is the abstract (only for a label with nothing after it); so
            # for a funding label, "基金项目：", and the grant's text, and a declaration label and its wording
            carried = _carried_by(view, current)
    _mark_contents(view, blocks)
    _find_titles(view, blocks, 0 if not front else len(blocks) if front_end is None else front_end)
    return [(start, end, kind) for start, end, kind, _ in blocks], (in_references, carried)


def _atx_headings(view: str) -> list[int]:
    """The starts of a Markdown text's ATX heading lines, but for those inside a fenced code block (``` or ~~~,
    closed by a fence of the same character at least as long, or by the text's end)."""
    headings = [match.start() for match in _ATX_HEADING.finditer(view)]
    code = _code_blocks(view) if headings else []
    return [start for start in headings if not _in_code(code, start)] if code else headings


def _code_blocks(view: str) -> list[tuple[int, int]]:
    """The spans of a Markdown text's fenced code blocks (``` or ~~~, closed by a fence of the same character
    at least as long with nothing after it, or by the text's end), fences included, in order."""
    if "```" not in view and "~~~" not in view:
        return []
    code: list[tuple[int, int]] = []
    opened = None
    for fence in _FENCE.finditer(view):
        marker = fence.group(1)
        if opened is None:
            opened = fence
        elif marker[0] == opened.group(1)[0] and len(marker) >= len(opened.group(1)) and not fence.group(2).strip():
            code.append((opened.start(), fence.end()))
            opened = None
    if opened is not None:
        code.append((opened.start(), len(view)))
    return code


def _in_code(code: list[tuple[int, int]], offset: int) -> bool:
    """Is `offset` inside one of the code blocks `code` (_code_blocks)? The blocks are in order and apart: the
    last starting at or before it holds it or not."""
    index = bisect_right(code, (offset, math.inf)) - 1
    return index >= 0 and offset < code[index][1]


def _other_markdown_headings(lines: list[str], starts: list[int]) -> frozenset[int]:
    """The starts of a .md file's lines (`lines`, from `starts`) that are headings other than ATX ones
    (_HTML_OR_BOLD_HEADING, or text over a setext underline)."""
    found = set()
    for number, line in enumerate(lines):
        if line.strip() and (_HTML_OR_BOLD_HEADING.match(line) is not None or (
                number + 1 < len(lines) and _SETEXT_UNDERLINE.match(lines[number + 1]) is not None)):
            found.add(starts[number])
    return frozenset(found)


def _citation_runs_on(view: str, block: list, previous: str) -> bool:
    """Does a "To cite this article:" block run on over the next line? (previous: its last line)"""
    return (previous.rstrip().rstrip(_CLOSERS)[-1:] not in _SENTENCE_ENDS and _DOI_NUMBER.search(previous) is None
            and view.count("\n", block[0], block[1]) < _CITATION_LINES - 1)


def _is_statement(view: str, start: int, end: int) -> bool:
    """A paragraph (view[start:end]) that is a journal's declaration with no label before it (_STATEMENT)."""
    match = _STATEMENT.match(view, start, end)
    if match is None or not _is_short(view, start, end):
        return False
    if match.group("supported") is not None:
        return _is_grant_line(view, start, end, title=False)
    return _DECLARATION.fullmatch(view, start, end) is not None


def _follows_label(view: str, start: int, end: int, label: str) -> bool:
    """Does view[start:end] read as the text of a lone funding label (label "identifier": a grant line, or a
    declaration) or of a lone declaration label (label "declaration": a declaration or a short answer)? The
    whole of it, at most two sentences: a paragraph opening with such words is the body's (probe BM)."""
    if not _is_short(view, start, end):
        return False
    if _DECLARATION.fullmatch(view, start, end) is not None:
        return True
    return label != "declaration" and _is_grant_line(view, start, end)


def _is_short(view: str, start: int, end: int) -> bool:
    """At most _GRANT_LINE_MAX characters and two sentences: a grant line or a declaration, no report's paragraph."""
    return end - start <= _GRANT_LINE_MAX and len(_GRANT_SENTENCE_END.findall(view[start:end].rstrip())) <= 2


def _is_grant_line(view: str, start: int, end: int, *, title: bool = True) -> bool:
    """A grant line (a short text, _is_short): a grant number in a grant's form in no report's sentence, or (title)
    a grant's title, one clause naming a funder (国家社会科学基金项目“…”, 本文系…基金项目的阶段性成果。). Either
    way made of funders, grants and their numbers only (_grant_residue_words, _grant_clauses)."""
    text = view[start:end]
    if _grant_residue_words(text) > _GRANT_RESIDUE_MAX:
        return False
    if _GRANT_NUMBER.search(text) is not None:
        verb = _REPORT_VERB.search(_FUNDERS_ROLE.sub("", text))
        return ((verb is None or _FUNDED_SUBJECT.search(text, 0, verb.start()) is not None)
                and (_CJK_RE.search(text) is None or _grant_clauses(text)))
    return (title and (_FUNDER_NAME.search(text) is not None or _FUNDED_BY.match(text) is not None) and _CLAUSE_MARK.search(text) is None
            and len(_GRANT_SENTENCE_END.findall(text.rstrip())) <= 1 and _REPORT_VERB.search(text) is None
            and (_GRANT_TITLE_END.search(text) is not None or _CJK_RE.search(text) is None))


# What a grant line holds but its funders (capitalised), its titles in quotes and its numbers: its words of
# support. A report's sentence naming a grant holds more ("The ERDF co-finances 85% of the joint meetings' costs
# under grant agreement No 870691; the partner regions pay the rest.", "... It found that joint meetings cut ...":
# identifier after a Funding label or alone, probe BP2, BP4).
_GRANT_WORDS = frozenset((
    "a an and the of for in on to from under with by as well also both its their this these that our part partly partially"
    " financially jointly generously kindly is was were are has have been be received receive acknowledges acknowledge"
    " gratefully grateful thank thanks support supported funded funding fund funds financed financing sponsored"
    " granted grant grants awarded award awards agreement agreements no nos number numbers project projects programme"
    " programmes program programs foundation foundations council scheme initiative contract research work study studies"
    " article paper publication manuscript authors author leading results innovation key general major youth young"
    " scholars scientists special fundamental central universities university national provincial"
).split())
_GRANT_RESIDUE_MAX = 1  # words left over at most (a funder's lowercase word: "science"); two let a report's
# sentence through: "The European Regional Development Fund (grant agreement No 870691) funds the joint secretariat.",
# "The ERDF (...) supports cross-border cooperation." (probe BQ3)
_QUOTED_TITLE = re.compile(r'“[^”]*”|"[^"\n]*"|《[^》]*》|「[^」]*」|『[^』]*』|‘[^’]*’')
_WITH_DIGITS = re.compile(r"[(（\[【][^()（）\[\]【】]*\d[^()（）\[\]【】]*[)）\]】]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def _grant_residue_words(text: str) -> int:
    """How many words of view's Latin text are no funder's (capitalised), no grant number's and no grant word."""
    text = _WITH_DIGITS.sub(" ", _QUOTED_TITLE.sub(" ", _FUNDERS_ROLE.sub(" ", text)))
    return sum(1 for word in _LATIN_WORD.findall(text)
               if word[0].islower() and word.lower().rstrip("'’s") not in _GRANT_WORDS and word.lower() not in _GRANT_WORDS)


# A Chinese grant line's clauses (between ，；、。) each hold a grant number, name a funder or end in a grant's
# noun: "国家自然科学基金（71874032）；中央高校基本科研业务费专项资金". "本次联席会议由国家自然科学基金（批准号：71874032）
# 资助召开，会议讨论了流域协同治理" and "2023年，基金委共资助……项目12项（项目编号：L2224001等），推动了……" are a report's
# (identifier after a lone 基金资助, probe BP1).
_GRANT_CLAUSE = re.compile(r"[^，,；;、。！？!?]+")
_GRANT_CLAUSE_END = re.compile(r"(?:基金|[项項]目|[课課][题題]|成果|[资資]助|[规規][划劃]|[计計][划劃]|[资資]金|[经經][费費]|[专專][项項]|"
                               r"工程|支持|本文系|本研究)\s*$")


# A report's clause: a verb a grant line does not use, or 了 ("资助了…研究项目", "推动了…成果", "各省给予配套资金支持",
# probe BQ4), and a bracket holding years, not a grant's number ("共召开专题会议12次（2015—2019年）").
_REPORT_CLAUSE = re.compile(r"了|给予|召开|推动|讨论|开展|举行|建立|提出|表示|指出|认为|发现|[組组]织|参加|参与")
_YEARS_IN_BRACKETS = re.compile(r"[(（]\s*\d{4}\s*(?:年\s*)?(?:[—–~～至到-]+\s*\d{4}\s*年?)?\s*[)）]")


def _grant_clauses(text: str) -> bool:
    """Does each clause of a Chinese grant line read as a grant's (_GRANT_CLAUSE_END), none a report's?"""
    for clause in _GRANT_CLAUSE.findall(text):
        clause = clause.strip()
        if _REPORT_CLAUSE.search(_QUOTED_TITLE.sub("", clause)) is not None:
            return False
        if not clause or _GRANT_NUMBER.search(clause) is not None or _WITH_DIGITS.search(
                _YEARS_IN_BRACKETS.sub("", clause)) is not None:
            continue
        bare = _QUOTED_TITLE.sub("", clause).rstrip(_CLOSERS + " ").strip()
        if _FUNDER_NAME.search(clause) is None and _GRANT_CLAUSE_END.search(bare) is None:
            return False
    return True


def _lone_label_runs_on(view: str, line: str, end: int, paragraph_end: int) -> bool | str | tuple[str, int]:
    """How a label alone on its line (ending at end) runs on over its paragraph's next lines (to
    paragraph_end): "label", over all of them; ("until", offset), over those before a blank line inside the
    paragraph (a double-spaced paste's line break), which are the label's text where the lines after are not
    (probe BS2: a CNKI page's "• 基金资助:", its grant line, a blank line and the body); or False for a label that
    takes only its own text (_TAKES_ITS_TEXT_ONLY), before other text."""
    taken = _TAKES_ITS_TEXT_ONLY.match(line) if end < paragraph_end else None
    if taken is None:
        return "label"
    label = "declaration" if taken.group("declaration") else "identifier"
    if _follows_label(view, end, paragraph_end, label):
        return "label"
    text = view[end:paragraph_end]
    first = end + len(text) - len(text.lstrip())  # past the blank lines right under the label (probe BT1)
    until = None
    for blank in _BLANK_LINE_INSIDE.finditer(view, first, paragraph_end):
        if blank.start() - first > _GRANT_LINE_MAX:
            break
        if _follows_label(view, first, blank.start(), label):  # the longest such text: two grants, or one wrapped (BT2, BT3)
            until = blank.start()
    return ("until", until) if until is not None else False


_BLANK_LINE_INSIDE = re.compile(r"\n[^\S\n]*\n")


def _carried_by(view: str, block: list) -> str | None:
    """The kind a block that is a label alone in its paragraph gives the next paragraph: an abstract's or
    keywords', identifier for a funding label (the grant's text), "declaration" for a declaration label."""
    kind = block[2]
    if kind == "identifier":
        carries = _CARRIES_IDENTIFIER.match(view, block[0], block[1])
        if carries is None:
            return None
        kind = "declaration" if carries.group("declaration") else kind
    elif kind not in ("abstract", "keywords"):
        return None
    text = view[block[0]:block[1]]
    label = _line_label(text)
    return kind if label is not None and not label[1] and "\n" not in text.strip() else None


def _carried(view: str, lines: list[tuple[int, int]], carried: str) -> tuple[str, bool | str]:
    """The kind a label alone in the paragraph before gives this paragraph's first line, and whether the
    lines after it run on: an abstract's or keywords' as after the label on its line; a grant's text (after
    "基金项目：" or "Funding:") or a declaration (after "Disclosure statement") to the paragraph's end, if the
    paragraph reads as one, else it is body."""
    if carried == "statement":  # a declaration (_STATEMENT), alone in its paragraph
        return "identifier", "paragraph"
    if carried not in ("identifier", "declaration"):
        return carried, True
    if _follows_label(view, lines[0][0], lines[-1][1], carried):
        return "identifier", "paragraph"
    return "body", False


# An entry of a table of contents: leaders (dots, ellipses, middle dots) and a page number or a roman one.
_CONTENTS_ENTRY = LazyPattern(r"(?:\.{4,}|(?:\. ){3,}|…{2,}|·{4,}|⋯{2,})[ \t]*(?:\d{1,4}|[ivxlcdmIVXLCDM]{1,7})(?![\w.])"
                              r"(?=[ \t]*(?:\n|$)|[ \t]+[^\sa-z])")  # at a line's end, or before the next entry
_LEADERS = ("....", ". . .", "…", "····", "⋯")
_CONTENTS_HEADING = LazyPattern(r"\s*(?:目\s*录|目\s*次|(?:table\s+of\s+)?contents)\s*[:：]?\s*", re.IGNORECASE)


def _mark_contents(view: str, blocks: list[list]) -> None:
    """A table of contents' blocks, kind `contents`: at least three entries (leaders and a page number
    ending a line or followed by the next entry, "第一章 绪论……1", "Introduction ....... 3") in a block
    of them (at most _CONTENTS_ENTRY_BLOCK characters an entry), or in a run of short blocks that are
    each entries (a paste with a blank line between entries), and its heading (目录, Contents) just
    before. Its entries repeat the headings and the abstract's label: coded, every chapter title
    counted twice. (An answer in a transcript with ". . . I mean" three times is not one.)"""
    if not any(leader in view for leader in _LEADERS):
        return  # no block holds an entry (most documents): one scan of the view per leader, not per block
    run: list[int] = []  # consecutive short blocks holding entries
    entries = 0
    for number, block in enumerate([*blocks, None]):
        # leaders first, found in place (the pattern over every paragraph cost a tenth of a run)
        found = 0 if block is None or all(view.find(leader, block[0], block[1]) < 0 for leader in _LEADERS) \
            else len(_CONTENTS_ENTRY.findall(view, block[0], block[1]))
        if found and block[1] - block[0] <= found * _CONTENTS_ENTRY_BLOCK:
            run.append(number)
            entries += found
            if found < 3 or block[1] - block[0] <= _CONTENTS_ENTRY_BLOCK:
                continue  # a run of entries may go on
        if entries >= 3:
            for marked in run:
                blocks[marked][2] = "contents"
            before = run[0] - 1
            if before >= 0 and _CONTENTS_HEADING.fullmatch(view[blocks[before][0]:blocks[before][1]]):
                blocks[before][2] = "contents"
        run, entries = [], 0


_CONTENTS_ENTRY_BLOCK = 200  # at most this many characters, a block of one or two entries may be part of a run of them


def _special_lines(view: str, lines: list[str] | None = None, starts: list[int] | None = None) -> list[int]:
    """The offsets of the lines that may hold a label, a heading or a reference, ascending (a
    superset: only these lines are tested one by one; the other lines of a body paragraph run on).

    `lines` and `starts`: the view's lines and where each starts, when the caller has them.
    """
    if lines is None:
        lines = view.split("\n")
    # A cheap look at the first characters first: a line starting with ASCII characters that start
    # none of the patterns is not special (non-ASCII starts are all looked at: case-insensitive
    # matching lets "ſ", "ı", "K"... stand for ASCII letters). Lines starting with spaces are
    # looked at past them below.
    may_start_special = _MAY_START_SPECIAL
    flagged = [number for number, line in enumerate(lines) if may_start_special[line[:3]]]
    if not flagged:
        return []
    if starts is None:
        starts = list(accumulate(map((1).__add__, map(len, lines)), initial=0))
    match = _SPECIAL_START.match
    special = []
    for number in flagged:
        line = lines[number]
        if line[0] in _ASCII_SPACES:
            head = line.lstrip()[:3]
            if not (head and (not head.isascii() or head[0] in _SPECIAL_ASCII_FIRST or head.lower() in _SPECIAL_HEADS
                              or head[:2] in _SPECIAL_TWO)):
                continue
        start = starts[number]
        if match(view, start, start + len(line)):
            special.append(start)
    return special


def _names_institution(view: str, lines: list[tuple[int, int]], institution: list[bool]) -> bool:
    """Does the paragraph name an institution anywhere? Searched once, kept in `institution`."""
    if not institution:
        institution.append(_INSTITUTION.search(view, lines[0][0], lines[-1][1]) is not None)
    return institution[0]


def _after_title(view: str, blocks: list[list], current: list | None) -> bool:
    """Is the block before this line a title-like body block (so run-together names are authors)?"""
    block = current if current is not None else (blocks[-1] if blocks else None)
    if block is None or block[2] != "body":
        return False
    # A title wraps over 3 lines at most, and is at most 200 characters (the first test of _is_title_like).
    # Told without copying the block, which grows line by line: a page of 100,000 short lines in the
    # front matter copied it on each (quadratic: 2 s of an 11 s run).
    first = _NON_SPACE.search(view, block[0], block[1])
    if first is None:
        text = ""
    elif _NON_SPACE.search(view, first.start() + 200, block[1]) is not None:
        return False  # more than 200 characters from its first to its last that is not a space
    else:
        text = view[first.start():min(block[1], first.start() + 200)].rstrip()
    return len(text) <= 200 and text.count("\n") <= 4 and _is_title_like(text.replace("\n", " "))


def _still_front(view: str, block: list, in_front: bool, front_end: int | None, index: int) -> tuple[bool, int | None]:
    """The front matter ends at the first heading (not a Markdown title, "# Title") or the first body block
    holding a sentence and 120 characters."""
    if not in_front:
        return False, front_end
    if (block[2] == "heading" and not _is_markdown_title(view, block)) or (
        block[2] == "body" and block[1] - block[0] >= 200 and _SENTENCE_INSIDE.search(view, block[0], block[1])
    ):
        return False, index
    return True, front_end


def _find_titles(view: str, blocks: list[list], front_end: int) -> None:
    """Mark titles: the title-like body block before an author block in the front matter (dates and
    identifier lines between them are skipped); else, before the first abstract or keywords block,
    the nearest title-like block that is not a "Field: value" line."""
    found = False
    for index in range(front_end):
        kind = blocks[index][2]
        if kind == "author" or (kind in ("abstract", "keywords") and not found):
            back = index - 1
            while back >= 0 and (blocks[back][2] == "identifier" or _is_date(view, blocks[back])
                                 or (kind != "author" and _is_field(view, blocks[back]))
                                 or (blocks[back][2] == "body" and _is_chrome(view[blocks[back][0]:blocks[back][1]]))):
                back -= 1
            if back >= 0 and (blocks[back][2] == "body" or _is_markdown_title(view, blocks[back])) and _is_title_like(
                view[blocks[back][0]:blocks[back][1]].replace("\n", " ")
            ):
                blocks[back][2] = "title"
                found = True
            if kind != "author":
                break


def _is_markdown_title(view: str, block: list) -> bool:
    """A heading block that is a Markdown level-1 heading ("# Title"): in the front matter, the title."""
    return block[2] == "heading" and view.startswith("# ", block[0])


def _is_date(view: str, block: list) -> bool:
    return block[2] == "body" and _DATE_ONLY.fullmatch(view[block[0]:block[1]].strip()) is not None


def _is_field(view: str, block: list) -> bool:
    return block[2] == "body" and _FIELD.match(view, block[0], block[1]) is not None


# A speaker's label at a line's start: "Interviewer:", "Q:", "Mayor Li:", "主持人：", "马流辉:", "问:".
_SPEAKER = LazyPattern(r"[ \t]*((?:[A-Z][\w.'\-]*(?: [A-Z][\w.'\-]*){0,2}|[\u3400-\u9fff]{1,4}(?: ?[\u3400-\u9fff]{1,2})?))"
                       r"[ \t]*[:：](?![/\d])")
_LINE_END = frozenset(".!?。！？" + _CLOSERS)
# A Chinese web paste's list items end in a semicolon ("一是…；二是…；"), its salutation and lead-in in a colon
# ("各有关单位：", "通知如下："): lines ending one count as ended when a block is told a paste or a wrapped
# paragraph, and still run on into the next (_continues), as a speaker's label on a line of its own ("问：")
# does. Not the English marks: a Markdown list's items end in ";", its lead-ins in ":", in a file whose
# paragraphs are wrapped.
_LINE_END_IN_PASTE = _LINE_END | frozenset("；：")


def _turns(lines: list[str], kinds: list[int]) -> frozenset[int]:
    """The text lines that start a paragraph of their own, the line before them being text too:

    - in a transcript (a speaker's label, "Interviewer:" or "主持人:", starting three lines or more,
      one label at least twice), each line starting with a label;
    - in a web page pasted one paragraph a line (at least five lines with no blank line between,
      two in three of them ending a sentence), each line (a title or a heading, which ends no
      sentence, too), but a line that a word or a sentence runs on into: the line before ends in a
      hyphen, or ends no sentence and this one starts with a lowercase letter.
    """
    text = [number for number, kind in enumerate(kinds) if kind == _TEXT]
    following = [number for before, number in zip(text, text[1:]) if number == before + 1]
    if not following:
        return frozenset()
    labelled = {}
    for number in text:
        found = _SPEAKER.match(lines[number])
        if found is not None:
            labelled[number] = found.group(1)
    starts: set[int] = set()
    if len(labelled) >= 3 and len(set(labelled.values())) < len(labelled):
        starts.update(number for number in following if number in labelled)
    if len(following) >= 4:
        # Block by block (lines with no blank line between): a paragraph wrapped in a PDF, pasted among
        # one-line paragraphs, ends few of its lines, and stays whole.
        for block in _runs_of_lines(text):
            ended = sum(1 for number in block if lines[number].rstrip()[-1:] in _LINE_END_IN_PASTE)
            full = 0  # where Chinese headings tipped the block: its widest line's display width
            if len(block) > 1 and 3 * ended < 2 * len(block):
                english = _headings_in(lines, block)
                chinese = _chinese_headings_in(lines, block)
                if chinese and 3 * (ended + english) < 2 * len(block):
                    full = _full_width(lines, block)
                ended += english + chinese
            if len(block) > 1 and 3 * ended >= 2 * len(block):
                # ...and there a full line ending in a Chinese character is a PDF's wrap, which runs on: a headline,
                # its date and source over short wrapped paragraphs (probes BK1, BK2).
                starts.update(number for number in block[1:] if not _continues(lines[number - 1], lines[number])
                              and not (full and _wraps_at(lines[number - 1].strip(), lines[number].strip(), full)))
    return frozenset(starts)


def _headings_in(lines: list[str], block: list[int]) -> int:
    """How many lines of a block read as a web page's heading: an English line ending no sentence, shorter
    than 40 characters and than half the block's longest line, before a line starting with a capital or a
    digit ("Background", "2010 Framework Agreement"), with no colon and no label ("Posted on:...",
    "Abstract/Summary:..."): a paragraph wrapped in a PDF has lines of about one length."""
    longest = max(len(lines[number].strip()) for number in block)
    headings = 0
    for number, after in zip(block, block[1:]):
        line, next_line = lines[number].strip(), lines[after].lstrip()
        if (line.isascii() and len(line) < _WRAPPED_LINE and 2 * len(line) < longest
                and line[-1] not in _LINE_END and line[-1] not in "-‐,;" and ":" not in line
                and (next_line[:1].isupper() or next_line[:1].isdigit()) and _line_label(line) is None):
            headings += 1
    return headings


# A Chinese web page's numbered heading: 一、 （一） 1.1 2.1.1 1. 第一章, then a CJK character ("2.5亿", "12月" are none).
_CJK_NUMBERED_HEADING = LazyPattern(
    r"(?:第[一二三四五六七八九十百\d]{1,3}[章节節部篇条條]|[一二三四五六七八九十壹贰貳叁參肆柒捌玖拾]{1,3}[、．.]|[（(][一二三四五六七八九十\d]{1,2}[）)]"
    rf"|\d{{1,2}}(?:[.．]\d{{1,2}}){{0,3}}(?:[.．、]|\s))\s*(?={_CJK_CLASS})")
# Its furniture, ending no sentence: a document number (沪府办发〔2024〕12号), a date (2024年3月12日, 2024-03-12
# 10:30), a source or a dateline (来源：新华网, 2024-03-12 来源：上海发布 作者：…), a photo credit (李隽摄, 新华社记者 李隽 摄).
_PAGE_FURNITURE = LazyPattern(
    rf"[^\s，,。；;！？]{{0,16}}\s*[〔\[【(（]\d{{4}}[〕\]】)）]\s*\d{{1,4}}\s*[号號]"
    r"|\s*\d{4}\s*[年./-]\s*\d{1,2}\s*(?:[月./-]\s*\d{1,2}\s*日?)?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?\s*"
    r"|[^，,。；;！？]{0,30}?(?:来源|來源|稿源|出处|出處|作者|记者|記者|通讯员|通訊員|编辑|編輯|摄影|攝影|图片|圖片|发布时间|發布時間|"
    r"发布日期|發布日期|时间|時間|日期|浏览次数|瀏覽次數|点击数|點擊數|阅读量|閱讀量|字号|字號)\s*[:：].*"
    rf"|[^，,。；;！？]{{0,20}}?{_CJK_CLASS}\s*[摄攝][)）]?")
_HEADING_MARKS = re.compile(r"[，,、；;：:。！？!?]")
_FULL_SLACK = 4  # display columns a PDF's full Chinese line may fall short of the block's widest
_CJK_HEADING = 20  # characters at most in a bare Chinese heading ("合作背景", "下一步打算")
_CJK_NUMBERED_HEADING_MAX = 30  # and in a numbered one ("一、区域合作的必要性")


def _full_width(lines: list[str], block: list[int]) -> int:
    """The display width of a block's full line: its widest line holding no Latin letter or digit (a proportional
    font sets those narrower than a column, so a line citing "（Feiock, 2013）" measures wider than it is,
    probe BL1), or its widest line if every line holds one."""
    stripped = [lines[number].strip() for number in block]
    chinese = [line for line in stripped if _LATIN_OR_DIGIT.search(line) is None]
    return max(map(_display_width, chinese or stripped))


def _wraps_at(line: str, after: str, full: int) -> bool:
    """Whether a line of a block that Chinese headings tipped into a web paste is a PDF's wrap: as wide as the
    block's full line (within _FULL_SLACK; a fifth of it for a line holding Latin letters or digits, which a PDF
    sets in a proportional font), ending in a Chinese character, a letter or digit (half- or full-width: ２０ / ２３年),
    a percent sign or a dash, or a closing quote or bracket that ends no sentence (联席会议制度（joint / meeting system）,
    “毗邻党建” / 引领, 《意见》 / （以下简称; probes BL2, BN2), the next line starting with no label (一、, 第一章; 第三部分将讨论…， is a sentence).
    A speaker's name is no reason to cut: 报告中指 / 出：“…” is a wrap (probe BN1); a transcript's turns are
    started by the transcript rule."""
    slack = _FULL_SLACK if _LATIN_OR_DIGIT.search(line) is None else max(_FULL_SLACK, full // 5)
    if not line or _display_width(line) < full - slack:
        return False
    last = line[-1]
    if last in _CLOSERS or last in "》〕":
        if line[-2:-1] in _LINE_END:
            return False
    elif not (last.isalnum() or last in "%％—"):  # a CJK character, a letter or digit, half- or full-width
        return False
    label = _LINE_LABEL.match(after)
    if label is not None and label.group().startswith("第") and _HEADING_MARKS.search(after, label.end()):
        return is_cjk(after[label.end():].removeprefix("分")[:1])  # 本文 / 第三部分将讨论…，: a sentence, no heading
    return label is None


_LATIN_OR_DIGIT = LazyPattern(r"[A-Za-z0-9]")


_WIDE_CHARS = LazyPattern(f"[{CJK_CHARS}\u3000-\u303f\uff00-\uffef\u2018\u2019\u201c\u201d\u2014\u2026]")


def _display_width(line: str) -> int:
    """A line's width in display columns: a CJK character or a full-width mark two (Chinese quotation marks,
    — and … too, as a Chinese font sets them), any other character one."""
    return len(line) + len(_WIDE_CHARS.findall(line))


def _chinese_headings_in(lines: list[str], block: list[int]) -> int:
    """How many lines of a block read as a Chinese web page's heading or furniture, ending no sentence yet a
    paragraph (probe BF4): a line ending in a half-width colon after a CJK character (a lead-in, as one ending in
    "："); its page furniture (_PAGE_FURNITURE), at most 60 characters; a numbered heading
    (_CJK_NUMBERED_HEADING), at most 30 characters with no clause or sentence mark; a bare heading, at most 20
    characters, CJK ones, with no such mark, at most half as wide as the block's widest line, ending in a
    character (not a mark), before a longer line that ends a sentence, or before a numbered heading, furniture or
    the same line (a title repeated). A paragraph wrapped in a PDF column has lines of about one width, and its
    short last line ends a sentence: none of these."""
    stripped = [lines[number].strip() for number in block]
    if not any(map(_CJK_RE.search, stripped)):
        return 0  # an English block: a DOI line (10.1080/07036337.2012.711827) is no date
    widest = max(map(_display_width, stripped))
    ends = _LINE_END_IN_PASTE
    kinds = []  # per line: "lead", "furniture", "numbered", "bare" (a heading's shape) or ""
    for line in stripped:
        kind = ""
        if not line or line[-1] in ends:
            pass
        elif line[-1] == ":" and is_cjk(line[-2:-1]):
            kind = "lead"  # "各区人民政府:", "通知如下:": a page writing half-width marks, as "："
        elif len(line) <= 60 and _PAGE_FURNITURE.fullmatch(line) is not None and not _SENTENCE_INSIDE.search(line):
            kind = "furniture"
        elif len(line) <= _CJK_NUMBERED_HEADING_MAX and (line[-1].isalnum() or line[-1] == "》"):
            number = _CJK_NUMBERED_HEADING.match(line)
            if _HEADING_MARKS.search(line, 0 if number is None else number.end()) is not None:
                pass
            elif number is not None:
                kind = "numbered"
            elif (len(line) <= _CJK_HEADING and len(_CJK_RE.findall(line)) >= 2
                  and 2 * _display_width(line) <= widest):
                kind = "bare"
        kinds.append(kind)
    headings = 0
    for at, kind in enumerate(kinds):
        if kind == "bare":
            if at + 1 == len(kinds):
                continue
            after = stripped[at + 1]
            if not (kinds[at + 1] in ("numbered", "furniture") or after == stripped[at]
                    or ((after[-1:] in ends or kinds[at + 1] == "lead") and len(after) > len(stripped[at]))):
                continue
        headings += kind != ""
    return headings


def _runs_of_lines(numbers: list[int]) -> Iterator[list[int]]:
    """The runs of consecutive numbers in `numbers` (sorted): the blocks of text lines with no blank line between."""
    run: list[int] = []
    for number in numbers:
        if run and number != run[-1] + 1:
            yield run
            run = []
        run.append(number)
    if run:
        yield run


def _continues(before: str, after: str) -> bool:
    """Does a word or a sentence run on from the line `before` into the next line, `after`? The line
    before ends in a hyphen, a comma (a Chinese one too) or a Chinese colon (or a half-width one after a CJK
    character), or it is a long line ending no sentence and
    the line after starts with a lowercase letter. (A Chinese headline is a long line ending no
    sentence before a Chinese one: no more is told of a Chinese line.)"""
    before, after = before.rstrip(), after.lstrip()
    if not before or not after or before[-1] in _LINE_END:
        return False
    # (a heading is short: "E-government" may start the paragraph after it)
    # (a Chinese label's half-width colon, "基金资助:", runs on as a full-width one does: not an English one)
    return (before[-1] in "-‐,，、;；：" or (before[-1] == ":" and is_cjk(before[-2:-1]))
            or (after[0].islower() and len(before) >= _WRAPPED_LINE))


_WRAPPED_LINE = 40  # a line at least this long, ending no sentence, may be a paragraph wrapped in a web paste


def _is_double_spaced(lines: list[str], kinds: list[int], *, full: int | None = None) -> bool:
    text_lines = [number for number, kind in enumerate(kinds) if kind == _TEXT]
    gaps = len(text_lines) - 1
    if gaps < 4:
        return False
    # A single gap: exactly one blank line (and no page number) between two text lines.
    singles = [
        (before, after) for before, after in zip(text_lines, text_lines[1:])
        if after - before == 2 and kinds[before + 1] == _BLANK
    ]
    single = len(singles)
    if 2 * single <= gaps:
        return False
    # Most often the lowercase starts alone settle it (an English paste): count those first, until
    # they are more than half (2 * lowercase > single).
    lowercase, half = 0, single // 2
    for previous, number in singles:
        if lines[number].lstrip()[0].islower() and lines[previous].rstrip()[-1] not in _TERMINAL:
            lowercase += 1
            if lowercase > half:
                return True
    if full is None:
        full = _full_line_length(lines, kinds)
    inside_sentence = after_full = inside_after_full = 0
    threshold = max(_FULL_LINE_MIN, 0.8 * full)  # _is_full, _runs_on: inlined, this loop is per line
    for previous, number in singles:
        before = lines[previous].rstrip()
        is_full = len(before.lstrip()) >= threshold
        if before[-1] in _TERMINAL:
            runs_on = False
        else:
            after = lines[number].lstrip()
            runs_on = after[0].islower() or (is_full and _wide_at_break(before, after)[1]
                                             and _LINE_LABEL.match(after.rstrip()) is None)
        inside_sentence += runs_on
        if is_full:
            after_full += 1
            inside_after_full += runs_on
    # Most single gaps run on (an English paste), or most gaps after a full line do (a Chinese paste
    # whose front matter, title and headings on short lines of their own, would outvote its body).
    return 2 * inside_sentence > single or (inside_after_full >= 3 and 2 * inside_after_full > after_full)


def _full_line_length(lines: list[str], kinds: list[int]) -> int:
    """The length of a full line of the document: the 75th percentile of its text lines' lengths.

    In a PDF paste most lines fill the column, so this is the column width; in an ordinary
    article it is a paragraph's length, which no title, author or heading line reaches.
    """
    lengths = sorted([len(line.strip()) for line, kind in zip(lines, kinds) if kind == _TEXT])
    return lengths[(3 * len(lengths)) // 4] if lengths else 0


def _is_full(line: str, full: int) -> bool:
    """A line as long as a full line of the document (and not a short one in a short-lined document)."""
    return len(line) >= max(_FULL_LINE_MIN, 0.8 * full)


def _runs_on(before: str, after: str, full: int) -> bool:
    """Does a sentence run on from the line `before` a single blank line to the line `after` it?

    Latin text: the line after starts with a lowercase letter. Chinese has no capitals, so a
    CJK line after counts only when the line before is a full line (at least 15 characters and
    80% of the document's full line length), as a PDF column breaks it, and the line after is
    not a heading or a front-matter label ("一、引言", "（一）", "摘要:", "关键词").
    """
    if not before or not after or before[-1] in _TERMINAL:
        return False
    if after[0].islower():
        return True
    return _wide_at_break(before, after)[1] and _is_full(before, full) and _LINE_LABEL.match(after) is None


def _is_wide(char: str) -> bool:
    """A CJK character or CJK/full-width punctuation: no space is written next to these."""
    return is_cjk(char) or "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef"


# Chinese quotation marks, which English writes too: wide beside a CJK character. Not … nor —: a web paste's
# line ending in …… or —— ends its paragraph (probe AU2), and no page break runs on over one.
_WIDE_BESIDE_CJK = frozenset("“”‘’")


def _wide_at_break(before: str, after: str) -> tuple[bool, bool]:
    """Are the last character of `before` and the first of `after`, on either side of a line break, wide
    (_is_wide)? A quotation mark (“ ” ‘ ’) is when the character on its other side, or across the
    break, is: 紧扣“高质量 / ”两个, not he said “ / foo”."""
    last, first = before[-1], after[0]
    last_wide, first_wide = _is_wide(last), _is_wide(first)
    if last in _WIDE_BESIDE_CJK and not last_wide:
        last_wide = first_wide or (len(before) > 1 and _is_wide(before[-2]))
    if first in _WIDE_BESIDE_CJK:
        first_wide = _is_wide(last) or (len(after) > 1 and _is_wide(after[1]))
    return last_wide, first_wide


def _trim(view: str, start: int, end: int) -> tuple[int, int] | None:
    """Shrink [start, end) past whitespace and blanked debris; None if nothing is left."""
    while start < end and view[start].isspace():
        start += 1
    while end > start and view[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _after_abbreviation(view: str, dot: int) -> bool:
    """True if the period at `dot` ends an abbreviation ("e.g.", "et al."), an initial or a section number."""
    if dot == 0:
        return False
    last = view[dot - 1]
    if last.isdecimal():  # a section number ("1. Introduction", "2.2.1. The regional economics"); no word ends in a digit
        return _SECTION_NUMBER.search(view, max(0, dot - 12), dot) is not None
    if last != "." and last not in _ASCII_LETTERS:
        return False  # no word ends here (and no section number)
    if dot > _LONGEST_ABBREVIATION and (tail := view[dot - _LONGEST_ABBREVIATION - 1 : dot]).isascii() and tail.isalpha():
        return False  # a word longer than every abbreviation (and than an initial)
    match = _WORD_BEFORE.search(view, max(0, dot - 12), dot)
    if match is None:
        return False
    word = match.group(1)
    if len(word) == 1 and word.isupper():
        return True  # an initial: "L. P. Xu"
    word = word.lower()
    if word in _ABBREVIATIONS_ENDING_SENTENCES:  # "... shown by Li et al. The meeting ...", "Ibid. The ..."
        return not view[dot + 1 : dot + 8].lstrip()[:1].isupper()
    return word in _ABBREVIATIONS


def _packed_spans(
    view: str, blocks: list[tuple[int, int, PassageKind]], max_chars: int, *, flat_view: str | None = None
) -> Iterator[tuple[int, int, PassageKind]]:
    """`flat_view`: the view with its line breaks as spaces, when the caller has it."""
    if flat_view is None:
        flat_view = view.replace("\n", " ")
    for start, end, kind in blocks:
        trimmed = _trim(view, start, end)
        if trimmed is None:
            continue
        start, end = trimmed
        if end - start <= max_chars:
            yield start, end, kind
            continue
        paragraph = flat_view[start:end]
        cuts = [0, *sentence_boundaries(paragraph), len(paragraph)]
        chunk = 0
        for left, right in zip(cuts, cuts[1:]):
            if right - chunk <= max_chars:
                continue
            if left > chunk:
                yield start + chunk, start + left, kind
                chunk = left
            if right - left > max_chars:
                if right - left > 2 * max_chars:
                    for piece_start, piece_end in _cut_long_sentence(paragraph, left, right, max_chars):
                        yield start + piece_start, start + piece_end, kind
                else:
                    yield start + left, start + right, kind
                chunk = right
        if chunk < len(paragraph):
            yield start + chunk, end, kind


def _cut_long_sentence(view: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Cut a sentence longer than 2 * max_chars after clause marks, else spaces, else anywhere."""
    while end - start > max_chars:
        limit = start + max_chars
        cut = 0
        for match in _CLAUSE_MARK.finditer(view, start, limit):
            cut = match.end()
        if cut <= start:
            space = view.rfind(" ", start + 1, limit)
            cut = space if space > start else limit
        yield start, cut
        start = cut
    yield start, end


def _sentence_spans(view: str, blocks: list[tuple[int, int, PassageKind]]) -> Iterator[tuple[int, int, PassageKind]]:
    nlp = _sentencizer()
    for start, end, kind in blocks:
        trimmed = _trim(view, start, end)
        if trimmed is None:
            continue
        start, end = trimmed
        paragraph = view[start:end].replace("\n", " ")
        pieces = [0, *(m.end() for m in _CJK_TERMINATOR.finditer(paragraph) if m.end() < len(paragraph)), len(paragraph)]
        spans: list[tuple[int, int]] = []
        chunks = [paragraph[left:right] for left, right in zip(pieces, pieces[1:])]
        for offset, doc in zip(pieces, nlp.pipe(chunks)):
            for sent in doc.sents:
                left, right = offset + sent.start_char, offset + sent.end_char
                if spans:
                    cut = _sentence_cut(paragraph, spans[-1], left)
                    if cut is None:
                        spans[-1] = (spans[-1][0], right)
                        continue
                    spans[-1] = (spans[-1][0], cut[0])
                    left = cut[1]
                spans.append((left, right))
        for left, right in spans:
            yield start + left, start + right, kind


def _sentence_cut(paragraph: str, previous: tuple[int, int], following: int) -> tuple[int, int] | None:
    """Where the sentence `previous` ends and the next starts, `following` being where the sentencizer
    starts it; None if no sentence ends there. The sentencizer leaves what follows a period in the
    sentence before it unless it is a word: "et al. (" then "2019) showed"."""
    first = previous[0]
    terminator = previous[1] - 1
    while terminator > first and not paragraph[terminator].isalnum() and paragraph[terminator] not in _TERMINATOR_CHARS:
        terminator -= 1
    mark = paragraph[terminator]
    if mark in "。！？":
        quoted = paragraph[previous[1] - 1] in _CLOSERS
        return None if quoted and _ATTRIBUTION.match(paragraph, following) else (previous[1], following)
    if mark not in ".!?":
        return previous[1], following
    end = terminator + 1
    while end < following and (paragraph[end] in ".!?" or paragraph[end] in _CLOSERS and not paragraph[end - 1].isspace()):
        end += 1
    between = paragraph[end:following]
    if (
        _CLAUSE_AFTER_END.match(between)
        or paragraph[following].islower()
        or paragraph[end - 1] == "." and _after_abbreviation(paragraph, end - 1)
    ):
        return None  # "et al., 2018", "etc. and", "(est. 2015)"
    if between.strip(_OPENERS + " "):
        return previous[1], following  # not a sentence's end and an opening mark: "<!--"
    return end, end + len(between) - len(between.lstrip())  # "It rose. (See Table 1.)"


@lru_cache(maxsize=1)
def _sentencizer():
    import spacy  # only the sentence unit needs spaCy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 10**9
    return nlp


def _readable(raw: str) -> str:
    """The reviewer's text: `raw` is the blanked span with its line breaks still in place (as
    split_passages_noting_plain_text makes each passage's text, from the document's breaks)."""
    if "\n" not in raw:
        return _collapsed(raw)
    lines = raw.split("\n")
    rejoined = _rejoined(raw, _joinable_breaks(lines, list(accumulate(map((1).__add__, map(len, lines)), initial=0))))
    return " ".join(rejoined.split()) if rejoined is not None else _collapsed(raw.replace("\n", " "))


def _rejoined(raw: str, breaks: list[int]) -> str | None:
    """`raw` with the line breaks at `breaks` (offsets in it, those `_joinable_breaks` finds) that join
    words removed (with the hyphen or the spaces before them), or None if none of them does."""
    pieces: list[str] = []
    position = 0
    for start in breaks:
        match = _LINE_BREAK.match(raw, start)
        end = match.end()
        before = raw[max(position, start - _WINDOW) : start]
        stripped = before.rstrip()
        after = raw[end : end + _WINDOW]
        if not stripped or not after:
            continue
        cut = start - (len(before) - len(stripped))  # drop the line's trailing spaces too
        joined = None
        if stripped[-1] == "-":
            first = _WORD_BEFORE_HYPHEN.search(stripped)
            second = _WORD_AT_START.match(after)
            if first and second:
                joined = "" if rejoins_hyphenated(first.group(), second.group()) else "-"
                cut -= 1
        elif len(stripped) == len(before):  # no space before the break: maybe a word cut in two
            second = _LOWER_WORD_AT_START.match(after)
            first = _LATIN_WORD_AT_END.search(before) if second else None
            if first and second and _rejoin_broken(first.group(), second.group()):
                joined = ""
        if joined is None and all(_wide_at_break(stripped, after)):
            joined = ""
        if joined is not None:
            pieces.append(raw[position:cut])
            pieces.append(joined)
            position = end
    if not pieces:
        return None
    pieces.append(raw[position:])
    return "".join(pieces)


def _table_rows(lines: list[str]) -> set[int]:
    """The numbers of the lines of a table: cells split by tabs (as the Word and spreadsheet extractors
    write them), or a Markdown row, starting with a pipe (read in the text: the view blanks it)."""
    return {number for number, line in enumerate(lines) if "\t" in line or line.lstrip().startswith("|")}


def _row_break_offsets(lines: list[str], starts: list[int], rows: set[int] | None = None) -> list[int]:
    """The offsets of the line breaks before and after a table's row (`rows`, else `_table_rows`): a cell
    ends there, and no word runs on across it.

    >>> _row_break_offsets(["a\\tb", "c d", "e"], [0, 4, 8])
    [3]
    """
    if rows is None:
        rows = _table_rows(lines)
    return [starts[number + 1] - 1 for number in range(len(lines) - 1) if number in rows or number + 1 in rows]


def row_breaks_within(text: str, start: int, end: int) -> list[int] | None:
    """The offsets of the line breaks in `text`[start:end] that the split reads as a table row's cell
    ends (`_row_break_offsets` of the document's lines), told from the two lines beside each break
    alone: no split of the whole document. None for a text split in parts (longer than
    _SPLIT_AT_ONCE), whose parts' lines need not be the document's.

    >>> row_breaks_within("a\\tb\\nc d\\ne", 0, 9)
    [3]
    """
    if len(text) > _SPLIT_AT_ONCE:
        return None
    offsets = []
    line_start = text.rfind("\n", 0, start) + 1
    cut = text.find("\n", start, end)
    while cut >= 0:
        following = text.find("\n", cut + 1)
        if _table_rows([text[line_start:cut], text[cut + 1:following if following >= 0 else len(text)]]):
            offsets.append(cut)
        line_start = cut + 1
        cut = text.find("\n", line_start, end)
    return offsets


def _row_ends_as_tabs(flat_view: str, offsets: list[int]) -> str:
    """`flat_view` with the line breaks at `offsets` (`_row_break_offsets`) as tabs, which matching reads
    as a cell's end, as across a tab in a row.

    >>> _row_ends_as_tabs("a\\tb c d e", [3])
    'a\\tb\\tc d e'
    """
    # Sliced between the offsets (ascending), not a list of every character: that list held 8 bytes a
    # character (a 2 MB part's 16 MB, more with a string per character beyond Latin-1) and was the
    # peak of a coding process splitting a long document.
    pieces: list[str] = []
    position = 0
    for offset in offsets:
        pieces.append(flat_view[position:offset])
        position = offset + 1
    pieces.append(flat_view[position:])
    return "\t".join(pieces)


def _joinable_breaks(lines: list[str], starts: list[int], *, rows: set[int] | None = None) -> list[int]:
    """Offsets of the line breaks after `lines` (starting at `starts`) that `_readable` may remove:
    after a hyphen, a CJK character or a mark that may be one (“ ” ‘ ’; trailing spaces allowed) or right after a Latin letter (a
    superset: any character from U+2E80 on stands for a CJK one); no other break can join, so the
    rest are left to the final whitespace collapse without looking at them.

    A passage starting inside a line flags what its whole line flags: its first character is not a
    space, so the line's last character and its last one before trailing spaces are the passage's.
    """
    flagged = [
        number for number, line in enumerate(lines)
        if line and (
            (last := line[-1]) in _JOIN_LAST or (last >= "\u2e80" and not last.isspace()) or last in _WIDE_BESIDE_CJK
            or (last.isspace() and (tail := line.rstrip()[-1:]) != ""
                and (tail == "-" or tail >= "\u2e80" or tail in _WIDE_BESIDE_CJK))
        )
    ]
    if flagged and flagged[-1] == len(lines) - 1:
        del flagged[-1]  # no line break after the last line
    if flagged:
        # a table row's end joins no words: 党建 | 联盟 are two cells (`rows`: the table's lines, as the
        # text has them; else as these lines show them)
        if rows is None:
            rows = _table_rows(lines)
        if rows:
            flagged = [number for number in flagged if number not in rows and number + 1 not in rows]
    return [starts[number + 1] - 1 for number in flagged]


def _collapsed(flat: str, *, printable: bool = False) -> str:
    """`" ".join(flat.split())`, faster on a passage's view (`printable`: known to be printable, a
    slice of a printable document's view).

    A printable string holds no whitespace but the space (every other whitespace character, the
    line break too, is a control or a separator), so its runs of spaces are all there is to
    collapse: see _collapsed_spaces.
    """
    if not (printable or flat.isprintable()):
        return " ".join(flat.split())
    return (_collapsed_spaces(flat) if "  " in flat else flat).strip(" ")


def _collapsed_spaces(flat: str) -> str:
    """Every run of spaces in a string of no other whitespace made one space, but a space at its end.

    Split at double spaces, a run leaves pieces that are empty or start with one space: without
    them, joined with one space. A string per run of spaces, not per word as str.split makes.
    """
    return " ".join(filter(None, map(_lstrip, flat.split("  "))))


def rejoins_hyphenated(first: str, second: str) -> bool:
    """Is "first-" at a line end and "second" one word? "gover" + "nance" yes; "cross" + "regional" no.

    The one rule for hyphenated line ends, shared by the readable text and the matcher.
    """
    return second[0].islower() and (is_english_word(first + second) or not (is_english_word(first) or is_english_word(second)))


def _rejoin_broken(first: str, second: str) -> bool:
    """"tri" + "ggered" and "us" + "ed" -> True; "the" + "model", "a" + "round" and "accept" + "or" -> False.

    The parts are words as is_whole_word reads them: the lemma tables lack function words ("accept\nor"
    read as "acceptor") and hold abbreviations ("us\ned" stayed "us ed") (probes KK14, LL3).
    """
    return is_english_word(first + second) and not (is_whole_word(first) and is_whole_word(second))
