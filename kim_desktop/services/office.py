"""The office's own settings: letterhead data (office profile), logo, letter form, and the template editor's
services (audited template writes, template files, PDF preview). No Qt.

Stored in ``setting`` rows: ``office_profile`` (a JSON dict, read the same way by ``letters.office_profile``),
``office_logo`` (``{"png": base64, "width": w, "height": h}``, the logo re-encoded as a small PNG) and
``letter_form`` (``"A"`` or ``"B"``). A settings write is audited as ``update`` of the entity type ``setting``
with the changed field names only (the values are office data, but the log stays uniform: names, no values).

Permissions (``services.permissions``): every write here – profile, logo, letter form, templates (edit,
restore, import) – needs ``settings.manage`` (the administration). Reading the profile, logo, letter form and
templates, exporting a template to a file and the template preview (synthetic data) are free: every letter
needs the letterhead.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from datetime import date
from pathlib import Path
from typing import Any

from ..db.models import Setting
from ..errors import UserError, ValidationError
from ..i18n import _, current_language, format_date, format_number
from . import audit, letter_templates
from .context import ServiceContext
from .permissions import require

PROFILE_KEY = "office_profile"
LOGO_KEY = "office_logo"
FORM_KEY = "letter_form"

#: Field → German label (literal ``_()`` calls so the catalogue finds them; see :func:`field_labels`).
FIELDS: tuple[str, ...] = (
    "organisation",
    "unit",
    "street",
    "postcode",
    "city",
    "phone",
    "email",
    "office_hours",
    "dpo_contact",
)
MULTI_LINE_FIELDS = frozenset({"dpo_contact"})
MAX_LENGTHS = {
    "organisation": 120,
    "unit": 120,
    "street": 120,
    "postcode": 20,  # the 5-digit rule below gives the clearer message
    "city": 80,
    "phone": 40,
    "email": 120,
    "office_hours": 160,
    "dpo_contact": 300,
}
MAX_DPO_LINES = 3  # the footer column has room for a heading and three lines
DEFAULTS = {
    "organisation": "Kommunales Integrationsmanagement",
    "dpo_contact": "Datenschutzbeauftragte/r der Verwaltung",
}

LOGO_MAX_BYTES = 5 * 1024 * 1024
LOGO_MAX_SIDE = 1200  # pixels on the long side after downscaling
LOGO_MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)
LOGO_FORMATS = ("PNG", "JPEG", "GIF", "BMP")
LETTER_FORMS = ("A", "B")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


def field_labels() -> dict[str, str]:
    """Field → label in the UI language."""
    return {
        "organisation": _("Dienststelle / Organisation"),
        "unit": _("Organisationseinheit"),
        "street": _("Straße und Hausnummer"),
        "postcode": _("PLZ"),
        "city": _("Ort"),
        "phone": _("Telefon"),
        "email": _("E-Mail"),
        "office_hours": _("Sprechzeiten"),
        "dpo_contact": _("Kontakt Datenschutzbeauftragte/r"),
    }


# --- office profile ------------------------------------------------------------------------------------------


def load_profile(session) -> dict[str, str]:
    """The office profile with defaults for missing or empty values (same reading as ``letters.office_profile``)."""
    row = session.get(Setting, PROFILE_KEY)
    stored = row.value if row is not None and isinstance(row.value, dict) else {}
    return {name: str(stored.get(name) or DEFAULTS.get(name, "")) for name in FIELDS}


def _clean(name: str, value: Any) -> str:
    text = "" if value is None else str(value)
    if name in MULTI_LINE_FIELDS:
        lines = [
            " ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        ]
        return "\n".join(line for line in lines if line)
    return " ".join(text.split())


def validate_profile(values: dict[str, str]) -> None:
    """Raise ``ValidationError`` (field → German message) for values that cannot be stored."""
    labels = field_labels()
    errors: dict[str, str] = {}
    for name in FIELDS:
        value = values.get(name, "")
        if len(value) > MAX_LENGTHS[name]:
            errors[name] = _("{field}: höchstens {n} Zeichen (jetzt {length}).").format(
                field=labels[name], n=MAX_LENGTHS[name], length=len(value)
            )
    if not values.get("organisation"):
        errors["organisation"] = _("Bitte den Namen der Dienststelle angeben: er steht im Briefkopf.")
    postcode = values.get("postcode", "")
    if postcode and "postcode" not in errors and not re.fullmatch(r"\d{5}", postcode):
        errors["postcode"] = _("Die PLZ besteht aus 5 Ziffern, z. B. 42651.")
    email = values.get("email", "")
    if email and "email" not in errors and not _EMAIL.match(email):
        errors["email"] = _(
            "Die E-Mail-Adresse sieht nicht vollständig aus (Beispiel: kim@kreis-beispiel.de)."
        )
    dpo = values.get("dpo_contact", "")
    if dpo.count("\n") >= MAX_DPO_LINES and "dpo_contact" not in errors:
        errors["dpo_contact"] = _(
            "Der Kontakt der/des Datenschutzbeauftragten passt mit höchstens {n} Zeilen in die Fußzeile."
        ).format(n=MAX_DPO_LINES)
    if errors:
        raise ValidationError(errors)


def save_profile(ctx: ServiceContext, values: dict[str, Any]) -> dict[str, str]:
    """Change the given fields of the office profile (others stay); validated, audited, all or nothing."""
    require(ctx.actor, "settings.manage")
    unknown = [name for name in values if name not in FIELDS]
    if unknown:
        raise UserError(
            _("Unbekanntes Feld im Profil der Dienststelle: {names}.").format(names=", ".join(unknown)[:200])
        )
    with ctx.write() as session:
        current = load_profile(session)
        new = dict(current)
        new.update({name: _clean(name, value) for name, value in values.items()})
        validate_profile(new)
        changed = [name for name in FIELDS if new[name] != current[name]]
        row = session.get(Setting, PROFILE_KEY)
        if row is None:
            session.add(Setting(key=PROFILE_KEY, value=new))
        else:
            row.value = new
        audit.record(
            session, "update", entity_type="setting", entity_id=PROFILE_KEY, detail={"fields": changed}
        )
        return new


def format_profile_address(profile: dict[str, str]) -> str:
    """Street, postcode and city as one line (``Rathausplatz 1, 42651 Solingen``)."""
    place = f"{profile.get('postcode', '')} {profile.get('city', '')}".strip()
    return ", ".join(part for part in (profile.get("street", ""), place) if part)


# --- logo ----------------------------------------------------------------------------------------------------


def _megabytes(size: int) -> str:
    from babel.numbers import format_decimal

    return format_decimal(size / (1024 * 1024), format="#,##0.0", locale=current_language())


def set_logo(ctx: ServiceContext, path: Path | str) -> dict[str, int]:
    """Store the image at ``path`` as the letterhead logo (re-encoded as PNG, at most 1200 px on the long side).

    Returns ``{"width": …, "height": …}`` of the stored image. German ``UserError`` for a missing, unreadable,
    too large or broken file; nothing is stored then.
    """
    require(ctx.actor, "settings.manage")
    path = Path(path)
    if not path.is_file():
        raise UserError(_("Die Logodatei wurde nicht gefunden: {path}").format(path=path))
    try:
        size = path.stat().st_size
        if size > LOGO_MAX_BYTES:
            raise UserError(
                _("Das Logo ist zu groß ({size} MB). Bitte eine Datei bis 5 MB wählen.").format(
                    size=_megabytes(size)
                )
            )
        data = path.read_bytes()
    except OSError:
        raise UserError(_("Die Logodatei kann nicht gelesen werden: {path}").format(path=path)) from None
    png, width, height = _logo_png(data)
    with ctx.write() as session:
        value = {"png": base64.b64encode(png).decode("ascii"), "width": width, "height": height}
        row = session.get(Setting, LOGO_KEY)
        if row is None:
            session.add(Setting(key=LOGO_KEY, value=value))
        else:
            row.value = value
        audit.record(
            session,
            "update",
            entity_type="setting",
            entity_id=LOGO_KEY,
            detail={"width": width, "height": height},
        )
    return {"width": width, "height": height}


def _not_an_image() -> UserError:
    return UserError(
        _("Die Datei ist kein lesbares Bild. Als Logo eignen sich Bilder im Format PNG, JPEG, GIF oder BMP.")
    )


def _logo_png(data: bytes) -> tuple[bytes, int, int]:
    """Decode, check and re-encode an uploaded logo; (PNG bytes, width, height)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=LOGO_FORMATS)
            width, height = opened.size  # from the header: nothing is decoded yet
            if width < 1 or height < 1 or width * height > LOGO_MAX_PIXELS:
                raise UserError(
                    _(
                        "Das Bild ist zu groß ({width} × {height} Pixel). Bitte ein Logo mit höchstens "
                        "40 Millionen Pixeln wählen, z. B. 1200 × 400 Pixel."
                    ).format(width=_count(width), height=_count(height))
                )
            if opened.format == "JPEG":
                opened.draft("RGB", (LOGO_MAX_SIDE, LOGO_MAX_SIDE))  # decode JPEGs at a reduced size
            opened.load()
            image: Image.Image = ImageOps.exif_transpose(opened) or opened
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            image = image.convert("RGBA" if has_alpha else "RGB")
            image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except UserError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(
            _("Das Bild ist zu groß. Bitte ein kleineres Logo wählen, z. B. 1200 × 400 Pixel.")
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, MemoryError):
        raise _not_an_image() from None
    return out.getvalue(), image.width, image.height


def _count(n: int) -> str:
    return format_number(int(n))


def clear_logo(ctx: ServiceContext) -> bool:
    """Remove the logo; ``False`` if there was none."""
    require(ctx.actor, "settings.manage")
    with ctx.write() as session:
        row = session.get(Setting, LOGO_KEY)
        if row is None:
            return False
        session.delete(row)
        audit.record(session, "delete", entity_type="setting", entity_id=LOGO_KEY)
        return True


def load_logo(session) -> bytes | None:
    """The stored logo as PNG bytes; ``None`` when there is none or the stored value is unusable."""
    row = session.get(Setting, LOGO_KEY)
    value = row.value if row is not None else None
    if not isinstance(value, dict) or not isinstance(value.get("png"), str):
        return None
    try:
        png = base64.b64decode(value["png"], validate=True)
    except (binascii.Error, ValueError):
        return None
    return png if png.startswith(b"\x89PNG\r\n\x1a\n") else None


# --- letter form ---------------------------------------------------------------------------------------------


def letter_form(session) -> str:
    """``"A"`` or ``"B"`` (the default: address field 45 mm from the top)."""
    row = session.get(Setting, FORM_KEY)
    return "A" if row is not None and row.value == "A" else "B"


def set_letter_form(ctx: ServiceContext, form: str) -> str:
    require(ctx.actor, "settings.manage")
    value = str(form or "").strip().upper()
    if value not in LETTER_FORMS:
        raise UserError(
            _("Unbekannte Briefform „{form}“. Möglich sind A und B (Standard: B).").format(
                form=str(form)[:20]
            )
        )
    with ctx.write() as session:
        row = session.get(Setting, FORM_KEY)
        if row is None:
            session.add(Setting(key=FORM_KEY, value=value))
        elif row.value != value:
            row.value = value
        audit.record(session, "update", entity_type="setting", entity_id=FORM_KEY, detail={"form": value})
    return value


# --- letterhead for the PDF renderer ------------------------------------------------------------------------


def letterhead(session):
    """This office's ``reports.letter.OfficeProfile`` (letterhead, footer and logo) for the PDF renderer."""
    from ..reports.letter import OfficeProfile

    return OfficeProfile(**load_profile(session), logo=load_logo(session))


# --- template editor -----------------------------------------------------------------------------------------

TEMPLATE_FILE_SUFFIXES = (".kimvorlage", ".j2")
MAX_TEMPLATE_FILE_BYTES = 4 * letter_templates.MAX_TEMPLATE_CHARS


def template_languages() -> list[str]:
    """Languages with shipped templates (folders under ``resources/templates/``), German first."""
    from ..resources import resource_path

    folder = resource_path("templates")
    found = (
        sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.j2")))
        if folder.is_dir()
        else []
    )
    return sorted(found, key=lambda code: (code != "de", code))


def template_keys(language: str) -> list[str]:
    """The template keys available in ``language`` (shipped ones, in the document set's order)."""
    available = letter_templates.default_templates(language)
    return [key for key in letter_templates.TEMPLATE_KEYS if key in available]


def save_template(
    ctx: ServiceContext, key: str, *, title: str, subject: str, body: str, language: str = "de"
) -> letter_templates.TemplateSource:
    """Validate and store an office edit of a template (revision + 1); audited."""
    require(ctx.actor, "settings.manage")
    with ctx.write() as session:
        stored = letter_templates.save_template(
            session, key, body, title=title, subject=subject, language=language
        )
        _audit_template(session, key, language, stored.revision, "edit")
        return stored


def restore_template(ctx: ServiceContext, key: str, language: str = "de") -> letter_templates.TemplateSource:
    require(ctx.actor, "settings.manage")
    with ctx.write() as session:
        stored = letter_templates.restore_default(session, key, language)
        _audit_template(session, key, language, stored.revision, "restore_default")
        return stored


def export_template_file(ctx: ServiceContext, key: str, path: Path | str, language: str = "de") -> Path:
    """Write the stored template (header, ``---``, body) to ``path`` as UTF-8; audited as an export."""
    path = Path(path)
    with ctx.write() as session:
        text = letter_templates.export_template(session, key, language)
        try:
            path.write_text(text, encoding="utf-8", newline="\n")
        except OSError:
            raise UserError(_("Die Datei kann nicht geschrieben werden: {path}").format(path=path)) from None
        audit.record(
            session,
            "export",
            entity_type="letter_template",
            entity_id=key[:36],
            detail={"language": language},
        )
    return path


def import_template_file(
    ctx: ServiceContext, path: Path | str, language: str = "de"
) -> letter_templates.TemplateSource:
    """Store a template file (``.kimvorlage`` or ``.j2``) as the office's version of its key; validated, audited."""
    require(ctx.actor, "settings.manage")
    path = Path(path)
    if not path.is_file():
        raise UserError(_("Die Vorlagendatei wurde nicht gefunden: {path}").format(path=path))
    try:
        if path.stat().st_size > MAX_TEMPLATE_FILE_BYTES:
            raise UserError(_("Die Datei ist zu groß für eine Briefvorlage: {path}").format(path=path))
        raw = path.read_bytes()
    except OSError:
        raise UserError(_("Die Vorlagendatei kann nicht gelesen werden: {path}").format(path=path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(
            _("Die Datei ist keine Briefvorlage (erwartet wird Text in UTF-8): {path}").format(path=path)
        ) from None
    with ctx.write() as session:
        stored = letter_templates.import_template(session, text, language)
        _audit_template(session, stored.key, language, stored.revision, "import")
        return stored


def _audit_template(session, key: str, language: str, revision: int, how: str) -> None:
    audit.record(
        session,
        "update",
        entity_type="letter_template",
        entity_id=key[:36],
        detail={"language": language, "revision": revision, "how": how},
    )


def _render_part(subject: str, body: str, context: dict[str, Any]) -> tuple[str, list[str]]:
    """(subject, paragraphs) of a template text; one ``ValidationError`` naming every broken field."""
    errors: dict[str, str] = {}
    paragraphs: list[str] = []
    rendered_subject = ""
    try:
        paragraphs = letter_templates.render(body, context)
    except ValidationError as exc:
        errors.update(exc.field_errors)
    try:
        rendered_subject = letter_templates.render_subject(subject, context)
    except ValidationError as exc:
        errors.update(exc.field_errors)
    if errors:
        raise ValidationError(errors)
    return rendered_subject, paragraphs


def preview_pdf(session, subject: str, body: str, language: str = "de", key: str | None = None) -> bytes:
    """A sample letter from an (unsaved) template text: synthetic person and case, this office's letterhead.

    For a translation (``language`` other than German, with the template ``key``) the preview is the bilingual
    letter the office sends: the stored German letter, then the edited translation. Raises
    ``ValidationError``/``UserError`` with the German message for a broken template.
    """
    from ..reports.letter import Letter, Translation, render_letter
    from . import letter_languages
    from .letters import embed_ltr  # LTR data kept in order inside RTL text, as in the real letters

    profile = load_profile(session)
    context = letter_templates.sample_context()
    context["buero"] = {
        "name": profile["organisation"],
        "einheit": profile["unit"],
        "anschrift": format_profile_address(profile),
        "telefon": profile["phone"],
        "email": profile["email"],
        "sprechzeiten": profile["office_hours"],
        "datenschutz": profile["dpo_contact"],
    }
    translation = None
    if language != "de" and key is not None and language in letter_languages.LETTER_TEXTS:
        german = letter_templates.get_template(session, key, "de")
        rendered_subject = letter_templates.render_subject(german.subject, context)
        paragraphs = letter_templates.render(german.body, context)
        foreign = letter_languages.texts(language)
        foreign_context = embed_ltr(context) if foreign["direction"] == "rtl" else context
        foreign_subject, foreign_paragraphs = _render_part(subject, body, foreign_context)
        translation = Translation(
            heading=foreign["translation_heading"],
            note=foreign["binding_note"],
            subject=foreign_subject,
            salutation=foreign["salutation_f"].format(name=context["person"]["nachname"]),
            body=foreign_paragraphs,
            closing=foreign["closing"],
            signature=context["sachbearbeitung"]["name"],
            direction=foreign["direction"],
        )
    else:
        rendered_subject, paragraphs = _render_part(subject, body, context)
    info = [
        ("Aktenzeichen", context["fall"]["aktenzeichen"]),
        ("Ansprechpartner/in", context["sachbearbeitung"]["name"]),
    ]
    if profile["phone"]:
        info.append(("Telefon", profile["phone"]))
    if profile["email"]:
        info.append(("E-Mail", profile["email"]))
    info.append(("Datum", format_date(date.today())))
    letter = Letter(
        form=letter_form(session),
        return_address=", ".join(p for p in (profile["organisation"], format_profile_address(profile)) if p),
        recipient_lines=list(context["person"]["anschrift"]),
        info_items=info,
        subject=rendered_subject,
        salutation=context["person"]["anrede"],
        body=paragraphs,
        closing="Mit freundlichen Grüßen",
        signature=context["sachbearbeitung"]["name"],
        translation=translation,
    )
    return render_letter(letter, letterhead(session))
