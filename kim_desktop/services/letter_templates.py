"""Letter templates: office-editable, sandboxed Jinja2 texts with a fixed set of German placeholders. No Qt.

A template file (``resources/templates/<language>/<key>.j2``, also the export/import format) is a small
header of ``name: value`` lines, a line ``---`` and the body as Jinja2 text::

    key: invitation
    title: Einladung / Terminbestätigung
    subject: Ihr Beratungstermin am {{ termin.datum }}
    version: 1
    ---
    wir laden Sie herzlich ein …

``review: fachlich prüfen lassen`` marks translated (non-German) templates that still need a professional
check. The body holds the letter text between salutation and closing formula (both are added by the letter
renderer); paragraphs are separated by blank lines. The rendered output is plain text: the PDF renderer
escapes it. Values from the context are printed literally (no template injection).

The database row (``LetterTemplate``) stores the whole file text in ``body`` (there is no subject column),
the title in ``title`` and counts office edits in ``revision``.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select

from ..db.models import LetterTemplate
from ..errors import UserError, ValidationError
from ..i18n import _
from ..resources import resource_path

TEMPLATE_KEYS = (
    "invitation",
    "referral",
    "consent",
    "release",
    "privacy",
    "plan",
    "certificate",
    "closing",
    "access-report",
)

#: The fixed set of placeholders a template may use (name → description as offices see it).
PLACEHOLDERS: dict[str, str] = {
    "person.anrede": "Anrede mit Komma, z. B. „Sehr geehrte Frau Nguyễn,“ oder „Guten Tag Alex Müller,“",
    "person.name": "Vor- und Nachname",
    "person.vorname": "Vorname(n)",
    "person.nachname": "Nachname",
    "person.geburtsdatum": "Geburtsdatum (TT.MM.JJJJ, ggf. unvollständig; unbekannt: eine Linie zum Ausfüllen)",
    "person.geburtsdatum_bekannt": "Ob ein Geburtsdatum gespeichert ist (ja/nein)",
    "person.anschrift": "Anschrift als Liste von Zeilen",
    "fall.aktenzeichen": "Aktenzeichen des Falls",
    "fall.eroeffnet_am": "Datum der Fallöffnung",
    "fall.phase": "Aktuelle Phase des Falls",
    "fall.ziele": "Ziele als Liste; je Ziel: titel, schritte (Liste mit beschreibung, wer, bis), bewertung",
    "fall.abschlussgrund": "Grund für den Abschluss (leer, solange der Fall offen ist)",
    "termin.beginn": "Beginn des Termins (Datum und Uhrzeit)",
    "termin.ende": "Ende des Termins (Uhrzeit)",
    "termin.datum": "Datum des Termins",
    "termin.uhrzeit": "Uhrzeit des Terminbeginns",
    "termin.ort": "Ort des Termins",
    "termin.mitbringen": "Was mitgebracht werden soll (Text)",
    "termin.dolmetschung": "Ob eine Dolmetschung organisiert ist (ja/nein)",
    "vermittlung.angebot": "Name des Angebots",
    "vermittlung.traeger": "Träger oder Stelle des Angebots",
    "vermittlung.anlass": "Anlass der Vermittlung",
    "empfaenger.name": "Empfangende Stelle (z. B. bei der Schweigepflichtentbindung)",
    "buero.name": "Name der Dienststelle",
    "buero.einheit": "Organisationseinheit",
    "buero.anschrift": "Anschrift der Dienststelle (eine Zeile)",
    "buero.telefon": "Telefonnummer",
    "buero.email": "E-Mail-Adresse",
    "buero.sprechzeiten": "Sprechzeiten",
    "buero.datenschutz": "Kontakt der/des Datenschutzbeauftragten",
    "sachbearbeitung.name": "Name der zuständigen Fachkraft",
    "heute": "Heutiges Datum",
    "auskunft.abschnitte": "Abschnitte der Auskunft nach Art. 15 DSGVO als Liste; je Abschnitt: titel, zeilen",
}

#: Fields of the items of list placeholders (for ``{% for ziel in fall.ziele %}`` … ``ziel.titel``).
ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    "fall.ziele": ("titel", "schritte", "bewertung"),
    "fall.ziele.schritte": ("beschreibung", "wer", "bis"),
    "auskunft.abschnitte": ("titel", "zeilen"),
}

ROOTS: tuple[str, ...] = tuple(dict.fromkeys(name.split(".")[0] for name in PLACEHOLDERS))
LEAF_ROOTS = frozenset(name for name in PLACEHOLDERS if "." not in name)
REVIEW_NOTE = "fachlich prüfen lassen"
MAX_TEMPLATE_CHARS = 100_000
MAX_SEQUENCE_PRODUCT = 10_000  # largest result of ``*``/``**`` allowed in a template expression
HEADER_FIELDS = ("key", "title", "subject", "version", "review")


@dataclass
class TemplateSource:
    key: str
    title: str
    subject: str
    version: str
    review_note: str
    body: str
    language: str = "de"
    revision: int = 0  # 0: the shipped default, not (yet) stored; otherwise the stored row's revision


# --- environment ---------------------------------------------------------------------------------------


class _LetterEnvironment(ImmutableSandboxedEnvironment):
    """Sandbox that also refuses huge ``*``/``**`` results (``'x' * 10**9`` would eat the memory)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator_name, left, right):
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise SecurityError("exponent too large")
            return operator.pow(left, right)
        result_size = 1
        for a, b in ((left, right), (right, left)):
            if isinstance(a, str | list | tuple) and isinstance(b, int):
                result_size = len(a) * b
        if result_size > MAX_SEQUENCE_PRODUCT:
            raise SecurityError("result too large")
        return operator.mul(left, right)


@cache
def environment() -> _LetterEnvironment:
    return _LetterEnvironment(
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


# --- file format -----------------------------------------------------------------------------------------


def parse_template_file(text: str) -> TemplateSource:
    """Split a template file into header fields and body; raises ``ValidationError`` on a broken header."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = text.split("\n")
    header: dict[str, str] = {}
    for index, line in enumerate(lines):
        if line.strip() == "---":
            body = "\n".join(lines[index + 1 :]).strip("\n")
            break
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or name not in HEADER_FIELDS:
            raise ValidationError(
                {
                    "header": _(
                        "Zeile {line} im Kopf der Vorlage ist nicht lesbar. Erwartet werden Zeilen wie "
                        "„title: …“ ({fields}) und danach eine Zeile „---“."
                    ).format(line=index + 1, fields=", ".join(HEADER_FIELDS))
                }
            )
        header[name] = value.strip()
    else:
        raise ValidationError({"header": _("Der Vorlage fehlt die Trennzeile „---“ zwischen Kopf und Text.")})
    missing = [name for name in ("key", "title") if not header.get(name)]
    if missing:
        raise ValidationError(
            {"header": _("Im Kopf der Vorlage fehlt: {fields}.").format(fields=", ".join(missing))}
        )
    return TemplateSource(
        key=header["key"],
        title=header["title"],
        subject=header.get("subject", ""),
        version=header.get("version", "1") or "1",
        review_note=header.get("review", ""),
        body=body,
    )


def compose_template_file(source: TemplateSource) -> str:
    """The file text for ``source`` (inverse of :func:`parse_template_file`)."""
    lines = [
        f"key: {source.key}",
        f"title: {_one_line(source.title)}",
        f"subject: {_one_line(source.subject)}",
        f"version: {_one_line(source.version) or '1'}",
    ]
    if source.review_note:
        lines.append(f"review: {_one_line(source.review_note)}")
    return "\n".join(lines) + "\n---\n" + source.body.strip("\n") + "\n"


def _one_line(value: str) -> str:
    return " ".join(str(value or "").split())


@cache
def _default_templates(language: str) -> dict[str, TemplateSource]:
    folder = resource_path(f"templates/{language}")
    result: dict[str, TemplateSource] = {}
    if not folder.is_dir():
        return result
    for key in TEMPLATE_KEYS:
        path = folder / f"{key}.j2"
        if path.is_file():
            source = parse_template_file(path.read_text(encoding="utf-8"))
            source.key = key
            source.language = language
            result[key] = source
    return result


def default_templates(language: str = "de") -> dict[str, TemplateSource]:
    """The shipped templates of ``language`` (key → source), fresh copies."""
    return {key: _copy(source) for key, source in _default_templates(language).items()}


def _copy(source: TemplateSource) -> TemplateSource:
    return TemplateSource(**vars(source))


# --- validation ------------------------------------------------------------------------------------------


def validate(body: str, *, field: str = "body") -> None:
    """Raise ``ValidationError({field: German message})`` for a syntax error or an unknown placeholder."""
    if len(body) > MAX_TEMPLATE_CHARS:
        raise ValidationError(
            {field: _("Die Vorlage ist zu lang (höchstens {n} Zeichen).").format(n=MAX_TEMPLATE_CHARS)}
        )
    env = environment()
    try:
        ast = env.parse(body)
        env.compile(ast)  # unknown filters and tests are found at compile time
    except TemplateSyntaxError as exc:
        raise ValidationError({field: _syntax_message(exc)}) from None
    problem = _check_placeholders(ast, env)
    if problem:
        raise ValidationError({field: problem})


def _syntax_message(exc: TemplateSyntaxError) -> str:
    detail = exc.message or ""
    lowered = detail.lower()
    if "unexpected end of template" in lowered:
        hint = _(
            "Ein Block wird nicht geschlossen: zu jedem {% if %} gehört ein {% endif %}, "
            "zu jedem {% for %} ein {% endfor %}."
        )
    elif "no filter named" in lowered:
        hint = _("Unbekannter Filter {name}.").format(name=_quoted_name(detail))
    elif "no test named" in lowered:
        hint = _("Unbekannte Prüfung {name}.").format(name=_quoted_name(detail))
    elif "unknown tag" in lowered:
        hint = _("Unbekannter Befehl {name}.").format(name=_quoted_name(detail))
    else:
        hint = _("Die Schreibweise ist fehlerhaft. Platzhalter stehen in {{ … }}, Befehle in {% … %}.")
    return _("Fehler in der Vorlage in Zeile {line}: {hint}").format(line=exc.lineno or 1, hint=hint)


def _quoted_name(detail: str) -> str:
    match = re.search(r"'([^']{1,60})'", detail)
    return f"„{match.group(1)}“" if match else ""


def _allowed_for(root: str) -> str:
    return ", ".join(name for name in PLACEHOLDERS if name == root or name.startswith(root + "."))


def _unknown(name: str, allowed: str) -> str:
    return _("Unbekannter Platzhalter „{name}“. Erlaubt sind: {allowed}").format(name=name, allowed=allowed)


def _check_placeholders(ast: nodes.Template, env: ImmutableSandboxedEnvironment) -> str | None:
    for name in sorted(meta.find_undeclared_variables(ast)):
        if name not in ROOTS and name not in env.globals:
            return _unknown(name, ", ".join(ROOTS))
    # Loop variables bound to list placeholders, e.g. ziel → fall.ziele, schritt → fall.ziele.schritte.
    loop_paths: dict[str, str] = {}
    for loop in ast.find_all(nodes.For):
        path = _path_of(loop.iter, loop_paths)
        if isinstance(loop.target, nodes.Name) and path in ITEM_FIELDS:
            loop_paths[loop.target.name] = path
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        attr = _attribute(node)
        if attr is not None and attr.startswith("_"):
            return _("Der Zugriff „{name}“ ist in Vorlagen nicht erlaubt.").format(name=attr[:60])
        base = node.node
        if attr is None or not isinstance(base, nodes.Name):
            continue
        if base.name in loop_paths:
            fields = ITEM_FIELDS[loop_paths[base.name]]
            if attr not in fields:
                return _unknown(f"{base.name}.{attr}", ", ".join(f"{base.name}.{f}" for f in fields))
        elif base.name in ROOTS and f"{base.name}.{attr}" not in PLACEHOLDERS:
            return _unknown(f"{base.name}.{attr}", _allowed_for(base.name))
    for output in ast.find_all(nodes.Output):
        for child in output.nodes:
            if isinstance(child, nodes.Name) and child.name in ROOTS and child.name not in LEAF_ROOTS:
                return _("Der Platzhalter „{name}“ ist unvollständig. Erlaubt sind: {allowed}").format(
                    name=child.name, allowed=_allowed_for(child.name)
                )
    return None


def _attribute(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _path_of(node: nodes.Node, loop_paths: dict[str, str]) -> str | None:
    if isinstance(node, nodes.Name):
        return loop_paths.get(node.name, node.name)
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        attr = _attribute(node)
        parent = _path_of(node.node, loop_paths)
        if attr is not None and parent is not None:
            return f"{parent}.{attr}"
    return None


# --- rendering -------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _compiled(source_body: str):
    """Validated and compiled once per text: bulk letters render the same template hundreds of times."""
    validate(source_body)
    return environment().from_string(source_body)


def render_text(source_body: str, context: dict[str, Any]) -> str:
    """Render a template body to plain text; German ``UserError`` for every template problem."""
    template = _compiled(source_body)
    try:
        return template.render(context)
    except SecurityError:
        raise UserError(
            _("Die Vorlage versucht, auf interne Daten zuzugreifen. Das ist nicht erlaubt.")
        ) from None
    except UndefinedError as exc:
        match = re.search(r"attribute '([^']{1,60})'|'([^']{1,60})' is undefined", str(exc))
        name = (match.group(1) or match.group(2)) if match else ""
        raise UserError(
            _(
                "Für die Vorlage fehlt ein Wert{name}. Bitte die Angaben ergänzen (z. B. Fall, Termin oder "
                "Vermittlung auswählen) oder die Vorlage anpassen."
            ).format(name=f" („{name}“)" if name else "")
        ) from None
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise UserError(
            _(
                "Die Vorlage lässt sich mit diesen Angaben nicht ausfüllen ({kind}). Bitte die Vorlage prüfen."
            ).format(kind=type(exc).__name__)
        ) from None


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines; lines stripped at the end, empty paragraphs dropped."""
    result = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        paragraph = "\n".join(line.rstrip() for line in block.split("\n")).strip()
        if paragraph:
            result.append(paragraph)
    return result


def render(source_body: str, context: dict[str, Any]) -> list[str]:
    """Render a template body into the letter's paragraphs."""
    return split_paragraphs(render_text(source_body, context))


def render_subject(subject: str, context: dict[str, Any]) -> str:
    """Render the subject line (one line, whitespace collapsed)."""
    if not subject:
        return ""
    try:
        _compiled(subject)
    except ValidationError as exc:
        raise ValidationError({"subject": _("Betreff: {message}").format(message=exc.message)}) from None
    return " ".join(render_text(subject, context).split())


# --- database --------------------------------------------------------------------------------------------


def _check_key(key: str) -> None:
    if key not in TEMPLATE_KEYS:
        raise UserError(
            _("Unbekannte Vorlage: „{key}“. Vorhanden sind: {keys}.").format(
                key=str(key)[:80], keys=", ".join(TEMPLATE_KEYS)
            )
        )


def _default_for(key: str, language: str) -> TemplateSource:
    _check_key(key)
    source = _default_templates(language).get(key)
    if source is None:
        raise UserError(
            _("Die Vorlage „{key}“ gibt es nicht in der Sprache „{language}“.").format(
                key=key, language=str(language)[:10]
            )
        )
    return _copy(source)


def _row(session, key: str, language: str) -> LetterTemplate | None:
    return session.scalars(
        select(LetterTemplate).where(LetterTemplate.key == key, LetterTemplate.language == language)
    ).first()


def _from_row(row: LetterTemplate) -> TemplateSource:
    source = parse_template_file(row.body)
    source.key = row.key
    source.title = row.title or source.title
    source.language = row.language
    source.revision = row.revision or 1
    return source


def seed_templates(session, language: str = "de") -> int:
    """Add the shipped templates that are missing (by key and language); returns the number added."""
    present = set(session.scalars(select(LetterTemplate.key).where(LetterTemplate.language == language)))
    added = 0
    for key, source in _default_templates(language).items():
        if key in present:
            continue
        session.add(
            LetterTemplate(
                key=key, language=language, title=source.title, body=compose_template_file(source), revision=1
            )
        )
        added += 1
    if added:
        session.flush()
    return added


def get_template(session, key: str, language: str = "de") -> TemplateSource:
    """The office's stored version of template ``key``, or the shipped default."""
    _check_key(key)
    row = _row(session, key, language)
    if row is not None and row.deleted_at is None:
        return _from_row(row)
    return _default_for(key, language)


def _store(session, source: TemplateSource) -> TemplateSource:
    row = _row(session, source.key, source.language)
    text = compose_template_file(source)
    if row is None:
        # The shipped default counts as revision 1, so a first edit is revision 2 as after seeding.
        row = LetterTemplate(
            key=source.key, language=source.language, title=source.title, body=text, revision=2
        )
        session.add(row)
    else:
        row.title = source.title
        row.body = text
        row.revision = (row.revision or 1) + 1
        row.deleted_at = None
    session.flush()
    return _from_row(row)


def save_template(
    session,
    key: str,
    body: str,
    title: str | None = None,
    subject: str | None = None,
    language: str = "de",
) -> TemplateSource:
    """Validate and store an office-edited template (revision + 1); ``None`` keeps title/subject."""
    current = get_template(session, key, language)
    errors: dict[str, str] = {}
    new_title = _one_line(title) if title is not None else current.title
    new_subject = _one_line(subject) if subject is not None else current.subject
    if not new_title:
        errors["title"] = _("Bitte einen Titel für die Vorlage angeben.")
    elif len(new_title) > 300:
        errors["title"] = _("Der Titel ist zu lang (höchstens 300 Zeichen).")
    if not body.strip():
        errors["body"] = _("Der Text der Vorlage ist leer.")
    else:
        try:
            validate(body)
        except ValidationError as exc:
            errors.update(exc.field_errors)
    try:
        validate(new_subject, field="subject")
    except ValidationError as exc:
        errors["subject"] = _("Betreff: {message}").format(message=exc.field_errors["subject"])
    if errors:
        raise ValidationError(errors)
    current.title = new_title
    current.subject = new_subject
    current.body = body.replace("\r\n", "\n").strip("\n")
    current.language = language
    return _store(session, current)


def restore_default(session, key: str, language: str = "de") -> TemplateSource:
    """Replace the office's version with the shipped default (stored as a new revision)."""
    return _store(session, _default_for(key, language))


def export_template(session, key: str, language: str = "de") -> str:
    """The current template as file text (header, ``---``, body)."""
    return compose_template_file(get_template(session, key, language))


def import_template(session, text: str, language: str = "de") -> TemplateSource:
    """Store a template file's content (validated) as the office's version of its key."""
    source = parse_template_file(text)
    _check_key(source.key)
    stored = save_template(
        session, source.key, source.body, title=source.title, subject=source.subject, language=language
    )
    if source.version != stored.version or source.review_note != stored.review_note:
        stored.version = _one_line(source.version) or "1"
        stored.review_note = _one_line(source.review_note)
        row = _row(session, source.key, language)
        row.body = compose_template_file(stored)
        session.flush()
    return stored


# --- sample data -------------------------------------------------------------------------------------------


def sample_context() -> dict[str, Any]:
    """A complete context with realistic synthetic data: for previews and tests."""
    return {
        "person": {
            "anrede": "Sehr geehrte Frau Nguyễn,",
            "name": "Thị Lan Nguyễn",
            "vorname": "Thị Lan",
            "nachname": "Nguyễn",
            "geburtsdatum": "14.03.1987",
            "geburtsdatum_bekannt": True,
            "anschrift": ["Thị Lan Nguyễn", "bei Familie Yılmaz", "Kölner Straße 12", "42651 Solingen"],
        },
        "fall": {
            "aktenzeichen": "KIM-2026-0042",
            "eroeffnet_am": "02.02.2026",
            "phase": "Hilfeplanung",
            "ziele": [
                {
                    "titel": "Deutschkurs auf Niveau B1 beginnen",
                    "bewertung": "teilweise erreicht",
                    "schritte": [
                        {"beschreibung": "Anmeldung bei der VHS", "wer": "Klient*in", "bis": "15.04.2026"},
                        {"beschreibung": "Kinderbetreuung klären", "wer": "Case Manager/in", "bis": ""},
                    ],
                },
                {"titel": "Anerkennung des Berufsabschlusses prüfen", "bewertung": "offen", "schritte": []},
            ],
            "abschlussgrund": "",
        },
        "termin": {
            "beginn": "21.04.2026 10:00",
            "ende": "11:00",
            "datum": "21.04.2026",
            "uhrzeit": "10:00",
            "ort": "Rathaus Solingen, Raum 2.14, Rathausplatz 1, 42651 Solingen",
            "mitbringen": "Pass, Aufenthaltstitel, Schreiben des Jobcenters",
            "dolmetschung": True,
        },
        "vermittlung": {
            "angebot": "Anerkennungsberatung für ausländische Berufsabschlüsse",
            "traeger": "O'Connor <GmbH> & Söhne",
            "anlass": "Anerkennung des Pflegeabschlusses aus Vietnam",
        },
        "empfaenger": {"name": "O'Connor <GmbH> & Söhne"},
        "buero": {
            "name": "Stadt Solingen",
            "einheit": "Kommunales Integrationsmanagement",
            "anschrift": "Rathausplatz 1, 42651 Solingen",
            "telefon": "0212 290-0000",
            "email": "kim@example.org",
            "sprechzeiten": "Mo–Do 9–12 Uhr, Do 14–17 Uhr",
            "datenschutz": "Datenschutzbeauftragte der Stadt, datenschutz@example.org",
        },
        "sachbearbeitung": {"name": "Alex Schäfer"},
        "heute": "07.04.2026",
        "auskunft": {
            "abschnitte": [
                {"titel": "Stammdaten", "zeilen": ["Name: Thị Lan Nguyễn", "Geburtsdatum: 14.03.1987"]},
                {"titel": "Fallakte", "zeilen": ["Aktenzeichen: KIM-2026-0042", "Eröffnet am: 02.02.2026"]},
            ]
        },
    }
