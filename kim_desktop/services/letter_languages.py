"""Letter languages: the texts a bilingual client letter needs around its translated template. No Qt.

These are letter texts, not UI texts: they follow the language of the letter, never the language of the user
interface (so they are plain strings here and not gettext messages). A bilingual letter is the German letter,
which stays the legally binding text, followed by a translation: heading, a note that only the German text is
binding, subject, salutation, the body from ``resources/templates/<language>/<key>.j2``, closing formula.

Only the client-facing letters in ``BILINGUAL_LETTERS`` have translations. The shipped translations (templates
and the texts below) are marked ``review: fachlich prüfen lassen`` (``letter_templates.REVIEW_NOTE``): an office
should have them checked by a professional translator before relying on them.

Salutations are ``str.format`` patterns with one field ``{name}``: the family name for ``salutation_f`` and
``salutation_m``, the full name for the gender-neutral ``salutation_other``.
"""

from __future__ import annotations

#: Letters that can be made bilingual (German + translation).
BILINGUAL_LETTERS = ("invitation", "privacy", "consent", "release")

#: Letter languages: German first (the binding text), then the languages translations are shipped for.
LANGUAGES = ("de", "en", "ar", "uk", "ru", "tr", "fa")

#: The keys every language has.
TEXT_KEYS = (
    "salutation_f",
    "salutation_m",
    "salutation_other",
    "closing",
    "translation_heading",
    "binding_note",
    "language_name",
    "direction",
)

LETTER_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "salutation_f": "Sehr geehrte Frau {name},",
        "salutation_m": "Sehr geehrter Herr {name},",
        "salutation_other": "Guten Tag {name},",
        "closing": "Mit freundlichen Grüßen",
        "translation_heading": "Deutsche Fassung",
        "binding_note": "Nur der deutsche Text ist rechtlich verbindlich.",
        "language_name": "Deutsch",
        "direction": "ltr",
    },
    "en": {
        "salutation_f": "Dear Ms {name},",
        "salutation_m": "Dear Mr {name},",
        "salutation_other": "Dear {name},",
        "closing": "Kind regards",
        "translation_heading": "English translation",
        "binding_note": "This translation is for your information. Only the German text is legally binding.",
        "language_name": "English",
        "direction": "ltr",
    },
    "ar": {
        "salutation_f": "السيدة {name} المحترمة،",
        "salutation_m": "السيد {name} المحترم،",
        "salutation_other": "تحية طيبة إلى {name}،",
        "closing": "مع أطيب التحيات",
        "translation_heading": "الترجمة العربية",
        "binding_note": "هذه الترجمة للاطلاع فقط. النص الألماني وحده هو الملزم قانونيًا.",
        "language_name": "العربية",
        "direction": "rtl",
    },
    "uk": {
        "salutation_f": "Шановна пані {name}!",
        "salutation_m": "Шановний пане {name}!",
        "salutation_other": "Добрий день, {name}!",
        "closing": "З повагою",
        "translation_heading": "Переклад українською мовою",
        "binding_note": "Цей переклад надано для Вашої інформації. Юридично обов’язковим є лише текст німецькою мовою.",
        "language_name": "Українська",
        "direction": "ltr",
    },
    "ru": {
        "salutation_f": "Уважаемая госпожа {name}!",
        "salutation_m": "Уважаемый господин {name}!",
        "salutation_other": "Здравствуйте, {name}!",
        "closing": "С уважением",
        "translation_heading": "Перевод на русский язык",
        "binding_note": (
            "Этот перевод предоставлен для Вашей информации. "
            "Юридически обязательным является только текст на немецком языке."
        ),
        "language_name": "Русский",
        "direction": "ltr",
    },
    "tr": {
        "salutation_f": "Sayın Bayan {name},",
        "salutation_m": "Sayın Bay {name},",
        "salutation_other": "Sayın {name},",
        "closing": "Saygılarımızla",
        "translation_heading": "Türkçe çeviri",
        "binding_note": "Bu çeviri bilgilendirme amaçlıdır. Yalnızca Almanca metin hukuken bağlayıcıdır.",
        "language_name": "Türkçe",
        "direction": "ltr",
    },
    "fa": {
        "salutation_f": "سرکار خانم {name}،",
        "salutation_m": "جناب آقای {name}،",
        "salutation_other": "{name} گرامی،",
        "closing": "با احترام",
        "translation_heading": "ترجمه فارسی",
        "binding_note": "این ترجمه فقط برای اطلاع شماست. تنها متن آلمانی از نظر حقوقی الزام\u200cآور است.",
        "language_name": "فارسی",
        "direction": "rtl",
    },
}


def texts(language: str) -> dict[str, str]:
    """The letter texts of ``language`` (a copy); ``KeyError`` for a language without letter texts."""
    if language not in LETTER_TEXTS:
        raise KeyError(language)
    return dict(LETTER_TEXTS[language])
