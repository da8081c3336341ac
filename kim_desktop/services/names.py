"""Name folding, tokens and phonetic keys for person search and duplicate detection.

Pure Python (``unicodedata``, ``re`` and the ``anyascii`` package); no Qt, no database.

Folding (:func:`fold`)
    Every name, stored or typed, is reduced to ``[a-z0-9]`` words separated by single spaces:

    1. NFKC and ``casefold`` (so ``ß``/``ẞ`` become ``ss``, ligatures and full-width letters are split).
    2. Cyrillic goes through the ICAO Doc 9303 (Part 3) transliteration table. That is what Russian and
       Ukrainian passports print in the machine readable zone, i.e. the spelling that reaches German
       authorities (residence permit, BAMF, Jobcenter). Ukrainian *national* passports print the
       visual-zone spelling of the 2010 Cabinet of Ministers table (Г→h, И→y, initial Є/Ї/Й/Ю/Я→ye/yi/y/
       yu/ya); :func:`fold_variants` indexes that spelling as well, so "Shevchenko", "Hryhorii" and
       "Grygorii" all find the record. Apostrophes inside Cyrillic words (Мар'яна) are dropped, as both
       tables demand.
    3. Everything else character by character: control, format (RTL marks, zero-width joiners, soft
       hyphen), surrogate, private-use and combining characters are removed (NFD first, so ü→u, ş→s,
       ễ→e, and vocalised Arabic equals unvocalised Arabic); any other non-ASCII character is
       transliterated with ``anyascii`` (Arabic, Persian, Greek, Georgian, Armenian, Ethiopic, æ, ø, ł, ı, …).
    4. Anything that is not a letter or digit (hyphen, apostrophe, dot, comma, …) separates words.
    5. German transcriptions of umlauts: an ``e`` (or run of ``e``) after ``a``/``o``/``u`` is dropped, so
       Müller = Mueller = Muller, Öztürk = Oeztuerk = Ozturk. This is applied to stored names *and* queries,
       so it is symmetric; it also turns Michael into "michal" and Samuel into "samul", which is harmless
       because both sides are folded alike. Dropping the whole run keeps :func:`fold` idempotent.

    Folding is a per-character ``str.translate`` with a lazily filled table plus one precompiled regex; pure
    ASCII input (the vast majority) takes a short fast path.

Tokens (:func:`tokens`)
    The folded words of a name, plus joined forms of hyphenated/apostrophe'd names (Al-Hassan → "alhassan",
    O'Connor → "oconnor") and of particles written as separate words (Abdel Rahman → "abdelrahman",
    El Khoury → "elkhoury", van der Berg → "vanderberg", "derberg"), so that a query typed without the
    separator matches by prefix and phonetically.

Phonetic key (:func:`phonetic_key`)
    Kölner Phonetik (:func:`cologne_phonetic`, Postel 1969) is the established phonetic code for German
    (it is what German registry software uses) and, unlike Soundex, it codes German transcriptions
    correctly (sch, ch, z, v/w, ph). Because it ignores vowels completely and codes by consonant classes
    (b/p, d/t, f/v/w, g/k/q, s/z, m/n), most transliteration differences of Arabic, Persian, Turkish,
    Kurdish, Afghan and Eritrean names vanish by themselves: Mohammed/Muhammad, Hussein/Husain,
    Youssef/Yusuf/Jussuf (j and y count as vowels), Ghasemi/Qasemi/Kasemi, Khaled/Chaled, Tawfik/Tevfik.
    Rules like ou→u, ee→i, ph→f, kh→ch, q→k are therefore *not* needed (they would not change the code).
    Only three adjustments are made, each because plain Kölner Phonetik gets a real case wrong:

    * ``dsch``, ``dzh`` (ICAO Дж), ``dj`` → ``j``: Djamila = Dschamila = Dzhamila = Jamila.
    * ``tsch``, ``tch`` → ``ch``: German and French transcriptions of Ч equal the ICAO "ch"
      (Schewtschenko = Shevchenko, Tschechow = Chekhov).
    * ``h`` is significant (code ``9``) at the start of a word and between two vowels, and silent elsewhere
      (as in plain Kölner Phonetik). In Arabic names ح/ه are real consonants: without this, Hamid = Ahmed
      and Mohammed = Mahmoud. German silent h (Lehmann, Kohl, Sarah, Noah, Thomas) never stands in these
      positions, and h after a consonant (sh, ch, kh, gh, th, dh, ph) stays part of the digraph.

    Known limits: names with the same consonant skeleton collide (Hassan/Hussein, Jamal/Amal since j is a
    vowel in Kölner Phonetik), French "ch" for ش (Aicha vs Aisha) and Turkish c for /dʒ/ (Cemal vs Djemal)
    are not unified, and neither are sun-letter assimilations (Abdurrahman vs Abdulrahman).

Phone numbers (:func:`digits`)
    Only the digits (any script's decimal digits); ``+`` becomes ``00``, and a leading ``0049`` (``+49``)
    becomes the German trunk prefix ``0``, dropping an extra ``(0)`` after it.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

__all__ = ["cologne_phonetic", "digits", "fold", "fold_variants", "phonetic_key", "tokens"]


# --- Cyrillic -------------------------------------------------------------------------------------------

#: ICAO Doc 9303 Part 3, transliteration of Cyrillic characters (lower case; input is casefolded first).
_ICAO_CYRILLIC: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "ђ": "d", "ѓ": "g", "е": "e", "ё": "e",
    "є": "ie", "ж": "zh", "з": "z", "ѕ": "dz", "и": "i", "і": "i", "ї": "i", "й": "i", "ј": "j", "к": "k",
    "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "ћ": "c", "ќ": "k", "у": "u", "ў": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "џ": "dz", "ш": "sh",
    "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia", "ѣ": "ie", "ѳ": "f", "ѵ": "y",
}  # fmt: skip

#: Ukrainian national passport (Cabinet of Ministers resolution no. 55 of 2010), letters that differ.
_UKRAINIAN_NATIONAL: dict[str, str] = {"г": "h", "и": "y"}
#: ... and at the start of a word.
_UKRAINIAN_INITIAL: dict[str, str] = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}

_ICAO_TABLE = str.maketrans(_ICAO_CYRILLIC)
_NATIONAL_TABLE = str.maketrans({**_ICAO_CYRILLIC, **_UKRAINIAN_NATIONAL})

_CYRILLIC_RE = re.compile("[\u0400-\u052f]")
_CYRILLIC_APOSTROPHE_RE = re.compile(
    "(?<=[\u0400-\u052f])['`\u02b9\u02bb\u02bc\u2018\u2019](?=[\u0400-\u052f])"
)
_UKRAINIAN_INITIAL_RE = re.compile(r"\b[єїйюя]")


# --- per-character folding table ------------------------------------------------------------------------

_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me"})


def _fold_ascii_char(ch: str) -> str:
    if "a" <= ch <= "z" or "0" <= ch <= "9":
        return ch
    if "A" <= ch <= "Z":
        return ch.lower()
    if ch.isspace():  # \t \n \v \f \r and \x1c-\x1f
        return " "
    if ch < " " or ch == "\x7f":
        return ""
    return " "


class _CharTable(dict[int, str]):
    """``str.translate`` table mapping every character to ``[a-z0-9 ]*``; filled on first use."""

    def __missing__(self, code_point: int) -> str:
        ch = chr(code_point)
        if code_point < 128:
            result = _fold_ascii_char(ch)
        elif ch.isspace():
            result = " "
        elif unicodedata.category(ch) in _DROP_CATEGORIES:
            result = ""
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) not in _DROP_CATEGORIES
            )
            result = "".join(_fold_ascii_char(c) for c in anyascii(base))
        self[code_point] = result
        return result


_CHARS = _CharTable()
for _cp in range(128):
    _CHARS[_cp] = _fold_ascii_char(chr(_cp))
del _cp

#: German umlaut transcriptions: ae→a, oe→o, ue→u (the whole run of e, so that folding is idempotent).
_UMLAUT_E_RE = re.compile(r"(?<=[aou])e+")


def _fold(text: str, national: bool) -> str:
    if not text:
        return ""
    if text.isascii():
        s = text.translate(_CHARS)
    else:
        s = unicodedata.normalize("NFKC", text).casefold()
        if _CYRILLIC_RE.search(s):
            s = _CYRILLIC_APOSTROPHE_RE.sub("", s)
            if national:
                s = _UKRAINIAN_INITIAL_RE.sub(lambda m: _UKRAINIAN_INITIAL[m.group()], s)
                s = s.replace("зг", "zgh").translate(_NATIONAL_TABLE)
            else:
                s = s.translate(_ICAO_TABLE)
        s = s.translate(_CHARS)
    return " ".join(_UMLAUT_E_RE.sub("", s).split())


def fold(text: str) -> str:
    """Fold a name for comparison: only ``[a-z0-9]`` words separated by single spaces.

    >>> fold("Müller-Lüdenscheidt"), fold("Strauß"), fold("Öztürk"), fold("Шевченко")
    ('muller ludenscheidt', 'strauss', 'ozturk', 'shevchenko')
    """
    return _fold(text, national=False)


def fold_variants(text: str) -> set[str]:
    """Folded spellings to index for a stored name (empty set for an empty name).

    ``fold(text)`` plus, for Cyrillic input, the Ukrainian national passport spelling
    (``Григорій`` → ``{"grigorii", "hryhorii"}``).
    """
    variants = {fold(text)}
    if text and not text.isascii() and _CYRILLIC_RE.search(text):
        variants.add(_fold(text, national=True))
    variants.discard("")
    return variants


# --- tokens ---------------------------------------------------------------------------------------------

#: Name particles that are also written joined to the following word (Abdel Rahman / Abdelrahman).
_PARTICLES = frozenset(
    {
        # Arabic article, also in its assimilated forms; "abd" = servant of; "abu" = father of; "bin" = son of
        "al", "el", "ul", "ad", "ar", "as", "ash", "at", "az", "an",
        "abd", "abdel", "abdal", "abdul", "abdol", "abdoul", "abdu",
        "abu", "abou", "bin", "ben", "ibn", "bint", "ould", "ait",
        # Irish, Scottish, Dutch, German, Romance
        "o", "mc", "mac", "van", "von", "vom", "zu", "ter", "ten",
        "de", "del", "della", "der", "den", "di", "da", "do", "dos", "das", "du", "la", "le",
    }
)  # fmt: skip


def tokens(text: str) -> list[str]:
    """Search/index tokens of a name field: folded words plus joined forms (see module docstring).

    >>> tokens("Al-Hassan"), tokens("Abdel Rahman")
    (['al', 'hassan', 'alhassan'], ['abdel', 'rahman', 'abdelrahman'])
    """
    if not text:
        return []
    found: dict[str, None] = {}
    variants = (False, True) if not text.isascii() and _CYRILLIC_RE.search(text) else (False,)
    for national in variants:
        groups = [parts for word in text.split() if (parts := _fold(word, national).split())]
        # particle + following word(s), emitted after the last word they join
        joined_after: dict[int, list[str]] = {}
        for i, parts in enumerate(groups):
            if len(parts) == 1 and parts[0] in _PARTICLES:
                j = i
                while j < len(groups) and len(groups[j]) == 1 and groups[j][0] in _PARTICLES:
                    j += 1
                if j < len(groups):
                    joined_after.setdefault(j, []).append("".join("".join(g) for g in groups[i : j + 1]))
        for i, parts in enumerate(groups):
            for part in parts:
                found[part] = None
            if len(parts) > 1:
                found[_UMLAUT_E_RE.sub("", "".join(parts))] = None
            for joined in joined_after.get(i, ()):
                found[_UMLAUT_E_RE.sub("", joined)] = None
    return list(found)


# --- phonetics ------------------------------------------------------------------------------------------

_VOWELS = frozenset("aeijouy")


def _cologne(word: str, significant_h: bool) -> str:
    codes: list[str] = []
    last = len(word) - 1
    for i, ch in enumerate(word):
        prev = word[i - 1] if i else ""
        nxt = word[i + 1] if i < last else ""
        if ch in _VOWELS:
            code = "0"
        elif ch == "h":
            if significant_h and (i == 0 or (prev in _VOWELS and nxt in _VOWELS)):
                code = "9"
            else:
                continue
        elif ch == "b":
            code = "1"
        elif ch == "p":
            code = "3" if nxt == "h" else "1"
        elif ch in "dt":
            code = "8" if nxt and nxt in "csz" else "2"
        elif ch in "fvw":
            code = "3"
        elif ch in "gkq":
            code = "4"
        elif ch == "c":
            if i == 0:
                code = "4" if nxt and nxt in "ahkloqrux" else "8"
            elif prev in "sz":
                code = "8"
            else:
                code = "4" if nxt and nxt in "ahkoqux" else "8"
        elif ch == "x":
            code = "8" if prev and prev in "ckq" else "48"
        elif ch == "l":
            code = "5"
        elif ch in "mn":
            code = "6"
        elif ch == "r":
            code = "7"
        elif ch in "sz":
            code = "8"
        else:
            continue
        codes.append(code)
    out: list[str] = []
    previous = ""
    for digit in "".join(codes):
        if digit != previous and (digit != "0" or not out):
            out.append(digit)
        previous = digit
    return "".join(out)


def _letters(word: str) -> str:
    """``word`` as one run of ``a-z`` (folding it first unless it already is one)."""
    if word.isascii() and word.isalpha() and word.islower():
        return word
    return "".join(ch for ch in fold(word) if "a" <= ch <= "z")


def cologne_phonetic(word: str) -> str:
    """Kölner Phonetik (Postel 1969) of a word; ``''`` for empty input.

    Expects a folded ``a-z`` word; anything else is folded first and everything but letters is ignored
    (so ``"Müller-Lüdenscheidt"`` is coded as one word: ``"65752682"``).
    """
    return _cologne(_letters(word), significant_h=False) if word else ""


_PRENORMALISE_RE = re.compile("dsch|dzh|dj|tsch|tch")
_PRENORMALISE = {"dsch": "j", "dzh": "j", "dj": "j", "tsch": "ch", "tch": "ch"}


def phonetic_key(word: str) -> str:
    """Phonetic key for matching transliteration variants (see module docstring); ``''`` if no letters.

    >>> phonetic_key("Mohammed") == phonetic_key("Muhammad"), phonetic_key("Ahmed") == phonetic_key("Hamid")
    (True, False)
    """
    if not word:
        return ""
    letters = _PRENORMALISE_RE.sub(lambda m: _PRENORMALISE[m.group()], _letters(word))
    return _cologne(letters, significant_h=True)


# --- phone numbers --------------------------------------------------------------------------------------


def digits(text: str) -> str:
    """Digits of a phone number, ``+49``/``0049`` normalised to ``0``.

    >>> digits("+49 (0)170 123 45-67"), digits("0170/1234567"), digits("+90 532 1234567")
    ('01701234567', '01701234567', '00905321234567')
    """
    if not text:
        return ""
    out: list[str] = []
    international = False
    for ch in text:
        if ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
        elif not out and ch in "+\uff0b":
            international = True
    if not out:
        return ""
    number = "".join(out)
    if international:
        number = "00" + number
    if number.startswith("0049"):
        rest = number[4:]
        number = "0" + (rest[1:] if rest.startswith("0") else rest)
    return number
