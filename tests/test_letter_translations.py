"""Translations of the client letters: same structure, placeholders and logic as the German text; right script."""

from __future__ import annotations

import copy
import re
import string

import pytest
from jinja2 import nodes

from kim_desktop.resources import resource_path
from kim_desktop.services import letter_languages as ll
from kim_desktop.services import letter_templates as lt
from kim_desktop.services import letters

FOREIGN = tuple(language for language in ll.LANGUAGES if language != "de")
CASES = [(language, key) for language in FOREIGN for key in ll.BILINGUAL_LETTERS]
ARABIC_SCRIPT = ("ar", "fa")
CYRILLIC = ("uk", "ru")
GERMAN_MARKERS = re.compile(
    r"Sehr geehrte|Guten Tag|Mit freundlichen Grüßen|\bSie\b|\bIhre?[nmrs]?\b|\b[Bb]itte\b|\b[Ww]ir\b|"
    r"Unterschrift|Ort, Datum|Uhrzeit|Gültig bis|Aktenzeichen|Widerruf|Rechtsgrundlage|Einwilligungserklärung|"
    r"Schweigepflicht"
)
# Lines a translation may share with the German rendering besides pure data lines.
SHARED_LINES = {"Kavalleriestraße 2–4, 40213 Düsseldorf"}
SHARED_PREFIXES = {"tr": ("Telefon: ",)}


def _file(language: str, key: str) -> lt.TemplateSource:
    path = resource_path(f"templates/{language}/{key}.j2")
    return lt.parse_template_file(path.read_text(encoding="utf-8"))


def _sparse_context() -> dict:
    """Every optional value empty: exercises the ``else`` branches."""
    context = copy.deepcopy(lt.sample_context())
    context["termin"].update(mitbringen="", dolmetschung=False)
    context["buero"].update(einheit="", anschrift="", telefon="", email="", sprechzeiten="")
    context["empfaenger"] = {}
    context["fall"] = {}
    return context


CONTEXTS = {"sample": lt.sample_context, "sparse": _sparse_context}


def _ast(text: str) -> nodes.Template:
    return lt.environment().parse(text)


def _placeholders(text: str) -> set[str]:
    ast = _ast(text)
    found = {
        f"{node.node.name}.{node.attr}"
        for node in ast.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name in lt.ROOTS
    }
    found |= {node.name for node in ast.find_all(nodes.Name) if node.name in lt.LEAF_ROOTS}
    return found


def _conditions(text: str) -> tuple[list[str], list[str]]:
    """The tests of the ``{% if %}`` blocks and of the inline ``… if … else …`` expressions, in order."""
    ast = _ast(text)
    blocks = [repr(node.test) for node in ast.find_all(nodes.If)]
    inline = [repr(node.test) for node in ast.find_all(nodes.CondExpr)]
    return blocks, inline


def _letters_of(text: str) -> str:
    """The letters of the template text itself (Jinja tags and placeholders removed)."""
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", text)
    return "".join(ch for ch in text if ch.isalpha())


def _share(letters_: str, low: int, high: int) -> float:
    return sum(low <= ord(ch) <= high for ch in letters_) / max(len(letters_), 1)


def _data_values(value) -> list[str]:
    if isinstance(value, dict):
        return [item for child in value.values() for item in _data_values(child)]
    if isinstance(value, list):
        return [item for child in value for item in _data_values(child)]
    return [value] if isinstance(value, str) and value else []


def _is_data_line(line: str, values: list[str]) -> bool:
    for value in sorted(values, key=len, reverse=True):
        line = line.replace(value, "")
    return not re.sub(r"[\s_.,;:()\-–]", "", line)


def test_every_translation_is_shipped_and_loadable():
    for language in FOREIGN:
        folder = resource_path(f"templates/{language}")
        assert sorted(p.stem for p in folder.glob("*.j2")) == sorted(ll.BILINGUAL_LETTERS), language
        assert set(lt.default_templates(language)) == set(ll.BILINGUAL_LETTERS), language


@pytest.mark.parametrize(("language", "key"), CASES)
def test_header_and_validation(language, key):
    german = _file("de", key)
    source = _file(language, key)
    assert source.key == key
    assert source.version == "1"
    assert source.review_note == lt.REVIEW_NOTE
    assert source.title and source.title != german.title
    assert source.subject and source.subject != german.subject
    lt.validate(source.body)
    lt.validate(source.subject, field="subject")


@pytest.mark.parametrize(("language", "key"), CASES)
def test_same_placeholders_and_logic_as_german(language, key):
    german = _file("de", key)
    source = _file(language, key)
    assert _placeholders(source.body) == _placeholders(german.body)
    assert _placeholders(source.subject) == _placeholders(german.subject)
    assert _conditions(source.body) == _conditions(german.body)
    assert _conditions(source.subject) == _conditions(german.subject)
    assert len(list(_ast(source.body).find_all(nodes.If))) == len(list(_ast(german.body).find_all(nodes.If)))


@pytest.mark.parametrize("context_name", sorted(CONTEXTS))
@pytest.mark.parametrize(("language", "key"), CASES)
def test_renders_with_the_german_paragraph_structure(language, key, context_name):
    context = CONTEXTS[context_name]()
    german = _file("de", key)
    source = _file(language, key)
    paragraphs = lt.render(source.body, context)
    german_paragraphs = lt.render(german.body, context)
    assert paragraphs and all(p.strip() for p in paragraphs)
    # Same paragraphs with the same number of lines: a faithful, line-by-line translation.
    assert [len(p.split("\n")) for p in paragraphs] == [len(p.split("\n")) for p in german_paragraphs]
    assert lt.render_subject(source.subject, context)
    text = "\n".join(paragraphs) + "\n" + lt.render_subject(source.subject, context)
    assert not GERMAN_MARKERS.search(text), GERMAN_MARKERS.search(text)
    # No German sentence was left untranslated: shared lines are data, signature blanks or the LDI address.
    values = _data_values(context)
    german_lines = {line for p in german_paragraphs for line in p.split("\n")}
    for line in (line for p in paragraphs for line in p.split("\n")):
        if line in german_lines and line not in SHARED_LINES:
            assert _is_data_line(line, values) or line.startswith(SHARED_PREFIXES.get(language, ())), line


@pytest.mark.parametrize(("language", "key"), CASES)
def test_body_has_no_salutation_or_closing(language, key):
    source = _file(language, key)
    texts = ll.texts(language)
    first = lt.render(source.body, lt.sample_context())[0]
    last = lt.render(source.body, lt.sample_context())[-1]
    for name in ("salutation_f", "salutation_m", "salutation_other"):
        opening = texts[name].split("{name}")[0].strip()
        if opening:
            assert not first.startswith(opening), (name, first)
    assert texts["closing"] not in last
    if language not in ARABIC_SCRIPT:
        # The German body starts in lower case after the salutation's comma; the translations start a sentence.
        assert not first[0].islower(), first[:40]


@pytest.mark.parametrize(("language", "key"), CASES)
def test_script(language, key):
    source = _file(language, key)
    letters_ = _letters_of("\n".join((source.title, source.subject, source.body)))
    if language in ARABIC_SCRIPT:
        assert _share(letters_, 0x0600, 0x06FF) > 0.8, language
    elif language in CYRILLIC:
        assert _share(letters_, 0x0400, 0x04FF) > 0.8, language
    else:
        assert _share(letters_, 0x0041, 0x024F) == 1.0, language
    raw = source.title + source.subject + source.body
    if language == "fa":
        # Persian letters, not the Arabic forms of yeh and kaf; ZWNJ where Persian orthography needs it.
        assert not set(raw) & {"\u064a", "\u0643", "\u0649"}
        assert "\u200c" in raw
        assert not re.search(r"(^|\s)(ن?می|ها|های|هایی|ترین)(?=[\s،.؟:)]|$)", raw, re.M)
    if language == "ar":
        assert not set(raw) & {"\u06cc", "\u06a9", "\u067e", "\u0686", "\u0698", "\u06af"}
    if language == "uk":
        assert set(raw) & set("іїєґ"), "Ukrainian letters expected"
        assert not set(raw) & set("ыэъё")
    if language == "ru":
        assert not set(raw) & set("іїєґ")
    if language == "tr":
        assert set(raw) & set("ğışçöüİ")


def test_letter_texts_complete():
    assert ll.LANGUAGES[0] == "de" and set(ll.LANGUAGES) == set(ll.LETTER_TEXTS)
    assert ll.BILINGUAL_LETTERS == ("invitation", "privacy", "consent", "release")
    assert set(ll.BILINGUAL_LETTERS) <= set(lt.TEMPLATE_KEYS)
    for language in ll.LANGUAGES:
        texts = ll.texts(language)
        assert set(texts) == set(ll.TEXT_KEYS), language
        assert all(value.strip() for value in texts.values()), language
        for name in ("salutation_f", "salutation_m", "salutation_other"):
            fields = [field for _, field, _, _ in string.Formatter().parse(texts[name]) if field is not None]
            assert fields == ["name"], (language, name)
            assert texts[name].format(name="Nguyễn")
        for name in ("closing", "translation_heading", "binding_note", "language_name"):
            assert "{" not in texts[name], (language, name)
        assert texts["direction"] == ("rtl" if language in ARABIC_SCRIPT else "ltr")
        letters_ = _letters_of(
            " ".join(v.replace("{name}", "") for k, v in texts.items() if k != "direction")
        )
        if language in ARABIC_SCRIPT:
            assert _share(letters_, 0x0600, 0x06FF) > 0.9, language
        if language in CYRILLIC:
            assert _share(letters_, 0x0400, 0x04FF) > 0.9, language
    assert ll.texts("fa")["binding_note"].count("\u200c") == 1
    names = {ll.texts(language)["language_name"] for language in ll.LANGUAGES}
    assert names == {"Deutsch", "English", "العربية", "Українська", "Русский", "Türkçe", "فارسی"}


def test_texts_copy_and_unknown_language():
    ll.texts("en")["closing"] = "changed"
    assert ll.texts("en")["closing"] == "Kind regards"
    with pytest.raises(KeyError):
        ll.texts("xx")
    with pytest.raises(KeyError):
        ll.texts("")


def test_german_texts_match_the_letters_module():
    reference = getattr(letters, "LETTER_TEXTS", {}).get("de")
    if reference is None or reference is ll.LETTER_TEXTS["de"]:
        pytest.skip("letters takes its texts from letter_languages")
    german = ll.texts("de")
    for name in ("salutation_f", "salutation_m", "salutation_other", "closing"):
        assert german[name] == reference[name]
