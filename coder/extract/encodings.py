"""Stage 1 (plain text): decode text files in legacy encodings, or in one the user names.

`coder.corpus` first tries what it always did (byte order marks, UTF-8, GB18030 that looks
like Chinese). Bytes that are none of those come here:

- Windows-1252 when every non-ASCII character it gives is a Latin letter, typographic
  punctuation (’ “ ” – — …) or a common symbol, and accented letters are under 30% of the
  letters: the usual English or Western European text saved on Windows (Latin-1 files,
  whose letters it shares, read the same);
- otherwise charset-normalizer's best guess (Cyrillic, Greek, Big5, Shift_JIS, EUC-KR, ...)
  when it finds the result coherent (chaos under 10%), free of control characters and, for
  East Asian scripts, full of the script's everyday characters; a guess in another Latin code
  page (cp1250, Mac Roman) does not beat a clean Windows-1252 reading;
- otherwise nothing: the caller reports the file as undecodable, never codes mojibake.

A forced encoding (`--encoding cp1251`) is applied strictly: a byte that is not valid in it
makes the file undecodable, with the position of the first bad byte.
"""

from __future__ import annotations

import codecs
import unicodedata

from ..imports import LazyPattern
from . import ExtractionError

_MAX_CHAOS = 0.1
_WESTERN_SYMBOLS = frozenset("‘’‚“”„–—…•†‡‰‹›€™°±×÷§¶©®«»¿¡¢£¥¤µ·¹²³¼½¾ªº¨¯´¸\u00a0\u00ad")


def check_encoding(name: str) -> str:
    """The canonical name of a codec, for --encoding.

    >>> check_encoding("Windows-1252")
    'cp1252'

    Raises:
        ExtractionError: Python has no codec by that name.
    """
    advice = "Use a Python codec name such as utf-8, cp1252, latin-1, gb18030, big5, shift_jis or cp1251"
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise ExtractionError(f"unknown encoding {name!r}. {advice}") from None
    try:
        b"a".decode(codec.name)  # zlib, hex, rot13, base64: codecs, but not from bytes to text
    except UnicodeError:
        pass  # a text encoding that does not take this byte alone (utf-16)
    except LookupError:
        raise ExtractionError(f"{name!r} is not a text encoding (it turns bytes into bytes, or text into text). "
                              f"{advice}") from None
    return codec.name


_SURROGATE = LazyPattern("[\ud800-\udfff]")


def whole_characters(text: str) -> str:
    """`text` with UTF-16 surrogate pairs (RTF writes a character beyond U+FFFF as two `\\uN`; codecs
    such as unicode_escape and utf-7 decode to them) joined into the characters they encode, and a
    lone surrogate, which no UTF-8 file can hold, as U+FFFD.

    >>> whole_characters("\\ud83d\\ude00 \\ud83d") == "\\U0001f600 \\ufffd"
    True
    """
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def decode_forced(data: bytes, encoding: str) -> str:
    """Decode with the encoding the user named, strictly.

    Raises:
        ExtractionError: a byte sequence is not valid in that encoding.
    """
    name = check_encoding(encoding)
    try:
        text = data.decode(name)
    except UnicodeDecodeError as error:
        raise ExtractionError(
            f"cannot decode as {name}: byte {error.start} (0x{data[error.start]:02x}) is not valid in it. "
            "Check the encoding, or leave out --encoding to let coder detect it"
        ) from None
    text = whole_characters(text[1:] if text.startswith("\ufeff") else text)
    wrong = misread(text)
    if wrong is not None:
        # UTF-8 read as UTF-16 decodes without an error, into ideographs no text is made of.
        raise ExtractionError(f"does not read as text in {name}: {wrong} (it is in another encoding). "
                              "Leave out --encoding to let coder detect it, or save it as UTF-8")
    return text


def misread(text: str) -> str | None:
    """Why `text` reads as bytes decoded in the wrong encoding, or None: more private-use, unassigned or
    lone surrogate characters than a slip lets by (2, and one in a thousand), or Chinese, Japanese or
    Korean without the script's everyday characters.

    >>> misread(("Regional cooperation and joint meetings of the mayors." * 2).encode("utf-8").decode("utf-16-le"))
    "its Chinese, Japanese or Korean characters are not the script's everyday ones"
    >>> misread("长三角区域合作与联席会议制度的建立和完善") is None
    True
    """
    if text.isascii():
        return None
    unreadable = sum(1 for char in text if char >= "\ud800" and unicodedata.category(char) in ("Co", "Cn", "Cs"))
    if unreadable > max(2, len(text) // 1000):
        return f"{unreadable:,} of its characters are private-use or unassigned"
    if not _plausible_east_asian(text):
        return "its Chinese, Japanese or Korean characters are not the script's everyday ones"
    return None


# Stray bytes (surrogateescape's U+DC80-U+DCFF) read as the Windows-1252 characters they are; the five
# bytes Windows-1252 leaves undefined stay unread.
_STRAY_AS_CP1252 = {0xDC00 + byte: bytes([byte]).decode("cp1252") for byte in range(0x80, 0x100)
                    if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_STRAY = LazyPattern("[\udc80-\udcff]")


def utf8_with_strays(data: bytes) -> str | None:
    """UTF-8 text with a few bytes of Windows-1252 in it (a smart quote or an accent typed in another
    program and pasted in), those bytes read as Windows-1252, one character each; None unless the
    UTF-8 is unmistakable: more of its characters beyond ASCII than stray bytes, and at most one stray
    byte in a thousand (and three in any file).

    >>> utf8_with_strays("coopération régionale, café: ".encode() + b"l\\x92enqu\\xeate")
    'coopération régionale, café: l’enquête'
    """
    text = data.decode("utf-8", "surrogateescape")
    strays = len(_STRAY.findall(text))
    if not strays or strays > max(3, len(data) // 1000):
        return None
    beyond_ascii = sum(1 for char in text if char >= "\x80") - strays
    if beyond_ascii <= strays or any(ord(char) not in _STRAY_AS_CP1252 for char in _STRAY.findall(text)):
        return None
    return text.translate(_STRAY_AS_CP1252)


def detect_legacy(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) for bytes in a legacy encoding, or None if no encoding reads them cleanly.

    >>> detect_legacy("Café, naïve “quotes”".encode("cp1252"))
    ('Café, naïve “quotes”', 'cp1252')
    """
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and not _is_western(western):
        western = None
    if western is not None and _accented_share(western) <= 0.3:
        return western, "cp1252"
    from charset_normalizer import from_bytes

    guess = None
    # Its readings best first: the first that reads as text (a short Big5 title's best was Korean).
    for reading in from_bytes(data):
        if reading.chaos > _MAX_CHAOS or reading.encoding in ("utf_8", "ascii"):
            continue
        text = str(reading)
        if not _has_controls(text) and _plausible_east_asian(text) and _SYMBOL_IN_WORD.search(text) is None:
            guess = text, codecs.lookup(reading.encoding).name
            break
    if guess is None or guess[1] in _GREEK_ENCODINGS:
        guess = _greek_reading(data) or guess
    # Many accents: Cyrillic or Greek bytes read as cp1252 look like that, so another script
    # wins; another Latin code page (cp1250, Mac Roman) does not beat Windows-1252.
    if western is not None and (guess is None or not _NON_LATIN.search(guess[0])):
        return western, "cp1252"
    return guess


_GREEK_ENCODINGS = ("cp1253", "iso8859-7")


def _greek_reading(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) for Greek in Windows-1253 or ISO 8859-7, which charset-normalizer reads as
    Cyrillic that is no text (three sentences of Greek were skipped, probe AB6): of the readings whose
    letters past ASCII are all Greek, without control characters, the one with the most letters (the two
    differ in a few places: ISO 8859-7's Ά is Windows-1253's ¶).

    >>> _greek_reading("Η κοινή συνεδρίαση. Άνθρωποι.".encode("cp1253"))
    ('Η κοινή συνεδρίαση. Άνθρωποι.', 'cp1253')
    >>> _greek_reading("Η κοινή συνεδρίαση. Άνθρωποι.".encode("iso8859-7"))
    ('Η κοινή συνεδρίαση. Άνθρωποι.', 'iso8859-7')
    """
    readings = []
    for encoding in _GREEK_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        letters = [char for char in text if char >= "\x80" and char.isalpha()]
        others = sum(char >= "\x80" for char in text) - len(letters)
        latin = sum(char.isalpha() for char in text if char < "\x80")
        # Greek words, not other bytes read as Greek letters: more Greek letters than ASCII ones, few other
        # characters past ASCII (a short Big5 line gave "Αp®u·|Δ³"), ς only at a word's end and no capital after
        # a small letter inside a word (KOI8-R Russian gave "βΐΔΦΕΤ"; probe AC).
        if (len(letters) > latin and others <= max(2, len(letters) // 20) and not _has_controls(text)
                and all("\u0370" <= char <= "\u03ff" for char in letters) and _SYMBOL_IN_WORD.search(text) is None
                and _FINAL_SIGMA_IN_WORD.search(text) is None and _GREEK_CAPITAL_IN_WORD.search(text) is None):
            readings.append((len(letters), -len(readings), text, encoding))
    return max(readings)[2:] if readings else None


# Greek writes ς only at a word's end; Cyrillic read as Greek puts it inside words (т, the same byte).
_FINAL_SIGMA_IN_WORD = LazyPattern("ς(?=[^\\W\\d_])")
_GREEK_CAPITAL_IN_WORD = LazyPattern("[\u0390\u03ac-\u03ce][\u0386\u0388-\u038a\u038c\u038e\u038f\u0391-\u03ab]")


_NON_LATIN = LazyPattern(r"[\u0370-\u03ff\u0400-\u052f\u0590-\u08ff\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3]")


def _accented_share(text: str) -> float:
    letters = sum(char.isalpha() for char in text)
    return sum(char.isalpha() for char in text if char >= "\x80") / max(letters, 1)


# Symbols that stand between two letters only when the bytes were another code page's letters (cp1250's
# ł ę Ł read as cp1252's ³ ê £: "Wspó³praca").
_SYMBOL_IN_WORD = LazyPattern("(?<=[^\\W\\d_])[¹²³£¥¤¢§¶µ¦¨¯´¸¼½¾×÷°±¬](?=[^\\W\\d_])")


def _is_western(text: str) -> bool:
    if _SYMBOL_IN_WORD.search(text) is not None:
        return False
    for char in set(text):
        if char < "\x80":
            if char < " " and char not in "\t\n\r\f":
                return False
            continue
        if char in _WESTERN_SYMBOLS:
            continue
        if not ("\u00c0" <= char <= "\u024f" and unicodedata.category(char).startswith("L")):
            return False
    return True


def _has_controls(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Co", "Cn") and char not in "\t\n\r\f" for char in set(text))


# The commonest characters of running text in each script: real text is full of them, bytes
# of another encoding read as Big5, Shift_JIS or EUC-KR give rare syllables and ideographs. (The
# script patterns, like _NON_LATIN, take about 1 ms each to compile: only a legacy file needs them.)
_COMMON = {
    "hangul": (LazyPattern(r"[\uac00-\ud7a3]"), frozenset("이다는의을를에가고하지기서한로도게사수니")),
    "kana": (LazyPattern(r"[\u3040-\u30ff\uff66-\uff9d]"), frozenset("のにはをたがでてとしいるなかれもこす")),
    "han": (LazyPattern(r"[\u4e00-\u9fff]"), frozenset("的一是不了在人有我他這个們中来來上大为為和国國地到以说說时時要就出会會可也你对對生能而子那得于於着著下自之年过過发發后後作里裡用道行所然家种種事成方多经經么去法学學如都同现現当當没沒动動面起看定天分还還进進好小部其些主样樣理心她本前开開但因只从從想实實日军軍者意无無力它与與长長把机機十民第公此已工使情明性知全三又关關点點正业業外将將两兩高间間由问問很最重并並物手应應战戰向头頭文体體政美相见見被利什二等产產或新己制身果加西斯月话話合回特代内內信表化老给給世位次度门門任常先海通教儿兒原东東声聲提立及比员員解水名真论論处處走义義各入几幾口认認条條平系气氣题題活尔爾更别別打女变變四神总總何电電数數安少报報才结結反受目太量再感建务務做接必场場件计計管期市直德资資命山金指克许許统統区區保至队隊形社便空决決治展马馬科司五基眼书書非则則听聽白却界达達光放强強即像难難且权權思王象完设設式色路记記南品住告类類求据據程北边邊死张張该該交规規万萬取拉格望觉覺术術领領共确確传傳师師观觀清今切院让讓识識候带帶导導争爭运運笑飞飛风風步改收根干造言联聯持组組每济濟车車亲親极極林服快办辦议議往元英士证證近失转轉夫令准準布始怎呢存未远遠叫台单單影具罗羅字爱愛击擊流备備兵连連调調深商算质質团團集百需价價花党黨华華城石级級整府离離况況亚亞请請技际際约約示复復病息究线線似官火断斷精满滿支视視消越器容照须須九增研写寫称稱企八功吗嗎包片史委乎查轻輕易早曾除农農找装裝广廣显顯吧阿李标標谈談吃图圖念六引历歷首医醫局突专專费費号號尽盡另周较較注语語仅僅考落青随隨选選列武红紅响響虽雖推势勢参參希古众眾构構房半节節土投某案黑维維革划劃敌敵致陈陳律足态態护護七兴興派孩验驗责責营營星够夠章音跟志底站严嚴巴例防族供效续續施留讲講型料终終答紧緊黄黃绝絕奇察母京段依批群项項故按河米围圍江织織害斗鬥双雙境客纪紀采刻毛率")),
}


def _plausible_east_asian(text: str) -> bool:
    """False for Korean, Japanese or Chinese text without that script's everyday characters."""
    found = {script: pattern.findall(text) for script, (pattern, _) in _COMMON.items()}
    if found["hangul"] and found["kana"] and len(found["hangul"]) + len(found["kana"]) < 20:
        return False  # Korean has no kana, Japanese no hangul: a few of both are bytes misread (켠ヘ햜류)
    for script, (_, common) in _COMMON.items():
        letters = found[script]
        if len(letters) >= 20 and sum(char in common for char in letters) < 0.08 * len(letters):
            return False
        # A short text too (a title: 黨建聯盟 in Big5 read as Korean gave 켠ヘ햜류): at least one.
        if 4 <= len(letters) < 20 and not any(char in common for char in letters):
            return False
    return True
