"""Letter templates: shipped texts, validation, sandbox, storage round trips, no template injection."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kim_desktop.errors import UserError, ValidationError
from kim_desktop.services import letter_templates as lt


def test_all_defaults_present_validate_and_render():
    defaults = lt.default_templates()
    assert set(defaults) == set(lt.TEMPLATE_KEYS)
    context = lt.sample_context()
    for key, source in defaults.items():
        assert source.key == key and source.title and source.subject and source.version == "1"
        assert source.review_note == ""  # German originals need no review note
        lt.validate(source.body)
        paragraphs = lt.render(source.body, context)
        assert len(paragraphs) >= 3, key
        assert all(p == p.strip() and p for p in paragraphs)
        assert lt.render_subject(source.subject, context)


def test_rendered_content_examples():
    context = lt.sample_context()
    d = lt.default_templates()
    plan = "\n\n".join(lt.render(d["plan"].body, context))
    assert "Ziel 1: Deutschkurs auf Niveau B1 beginnen" in plan
    assert "– Anmeldung bei der VHS (Wer: Klient*in, bis 15.04.2026)" in plan
    privacy = "\n".join(lt.render(d["privacy"].body, context))
    for needle in ("Art. 6 Abs. 1 Buchstabe a", "Buchstabe e", "Art. 9 Abs. 2 Buchstabe a", "LDI NRW"):
        assert needle in privacy
    referral = lt.render(d["referral"].body, context)
    assert any(p.startswith("Rückmeldebogen") for p in referral)
    assert "O'Connor <GmbH> & Söhne" in lt.render_subject(d["referral"].subject, context)


def test_person_letters_work_without_case_and_recipient():
    context = lt.sample_context()
    context["fall"] = {}
    context["empfaenger"] = {}
    context["termin"] = {}
    context["auskunft"] = {"abschnitte": []}
    d = lt.default_templates()
    for key in ("consent", "release", "privacy", "certificate", "access-report"):
        assert lt.render(d[key].body, context)
        lt.render_subject(d[key].subject, context)
    release = "\n".join(lt.render(d["release"].body, context))
    assert "Name und Anschrift der Stelle" in release


def test_unknown_placeholder_message():
    with pytest.raises(ValidationError) as info:
        lt.validate("Alter: {{ person.alter }}")
    message = info.value.field_errors["body"]
    assert message.startswith(
        "Unbekannter Platzhalter „person.alter“. Erlaubt sind: person.anrede, person.name"
    )
    with pytest.raises(ValidationError, match="„kunde“"):
        lt.validate("{{ kunde.name }}")
    with pytest.raises(ValidationError, match="„ziel.name“. Erlaubt sind: ziel.titel"):
        lt.validate("{% for ziel in fall.ziele %}{{ ziel.name }}{% endfor %}")
    with pytest.raises(ValidationError, match="„person“ ist unvollständig"):
        lt.validate("{{ person }}")
    # loop variables, nested loops, loop.index and `is defined` are fine
    lt.validate(
        "{% for ziel in fall.ziele %}{{ loop.index }} {{ ziel.titel }}{% for s in ziel.schritte %}"
        "{{ s.wer }}{% endfor %}{% endfor %}{% if fall.aktenzeichen is defined %}x{% endif %}{{ heute }}"
    )


def test_syntax_error_message_has_line_number():
    with pytest.raises(ValidationError) as info:
        lt.validate("Zeile eins\n\n{% if person.name %}\nohne Ende")
    assert "Zeile" in info.value.field_errors["body"] and "{% endif %}" in info.value.field_errors["body"]
    with pytest.raises(ValidationError, match="in Zeile 2"):
        lt.validate("a\n{{ person.name }")
    with pytest.raises(ValidationError, match="Unbekannter Filter „gross“"):
        lt.validate("{{ person.name|gross }}")


@pytest.mark.parametrize(
    "body",
    [
        "{{ person.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ person['__class__'] }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_sandbox_blocks_internals(body):
    with pytest.raises(UserError) as info:
        lt.render(body, lt.sample_context())
    assert "nicht erlaubt" in info.value.message or "Unbekannter Platzhalter" in info.value.message


def test_sandbox_blocks_at_render_time_too():
    # ``|attr`` is not visible as an attribute in the AST: the sandbox itself must refuse it.
    with pytest.raises(UserError, match="nicht erlaubt"):
        lt.render("{{ person.name|attr('__class__') }}", lt.sample_context())
    with pytest.raises(UserError):
        lt.render("{{ 'x' * 1000000000 }}", lt.sample_context())


def test_missing_value_gives_german_user_error():
    with pytest.raises(UserError, match="fehlt ein Wert"):
        lt.render("{{ termin.ort }}", {"termin": {}})


def test_parse_and_compose_round_trip():
    source = lt.default_templates()["invitation"]
    text = lt.compose_template_file(source)
    again = lt.parse_template_file(text)
    assert (again.key, again.title, again.subject, again.version, again.body) == (
        source.key, source.title, source.subject, source.version, source.body,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="„---“"):
        lt.parse_template_file("key: x\ntitle: y\n")
    with pytest.raises(ValidationError, match="fehlt: title"):
        lt.parse_template_file("key: x\n---\ntext")


def test_seed_is_idempotent(ctx):
    with ctx.write() as session:
        assert lt.seed_templates(session) == len(lt.TEMPLATE_KEYS)
        assert lt.seed_templates(session) == 0
    with ctx.write() as session:
        assert lt.seed_templates(session) == 0
        source = lt.get_template(session, "consent")
        assert source.revision == 1 and source.subject == lt.default_templates()["consent"].subject


def test_unknown_key(ctx):
    with (
        ctx.write() as session,
        pytest.raises(UserError, match="Unbekannte Vorlage: „brief“. Vorhanden sind: invitation"),
    ):
        lt.get_template(session, "brief")


def test_save_restore_export_import(ctx):
    with ctx.write() as session:
        lt.seed_templates(session)
        default = lt.get_template(session, "closing")
        saved = lt.save_template(
            session, "closing", "Neuer Text für {{ person.name }}.\n\nZweiter Absatz.",
            title="Abschluss (Amt)", subject="Abschluss {{ fall.aktenzeichen }}",
        )  # fmt: skip
        assert saved.revision == 2 and saved.title == "Abschluss (Amt)"
    with ctx.write() as session:
        stored = lt.get_template(session, "closing")
        assert stored.subject == "Abschluss {{ fall.aktenzeichen }}"
        assert lt.render(stored.body, lt.sample_context()) == [
            "Neuer Text für Thị Lan Nguyễn.",
            "Zweiter Absatz.",
        ]
        with pytest.raises(ValidationError) as info:
            lt.save_template(session, "closing", "{{ person.alter }}", subject="{{ x }}")
        assert set(info.value.field_errors) == {"body", "subject"}
        exported = lt.export_template(session, "closing")
        assert exported.startswith("key: closing\ntitle: Abschluss (Amt)\n")
        restored = lt.restore_default(session, "closing")
        assert restored.revision == 3 and restored.body == default.body and restored.title == default.title
    with ctx.write() as session:
        imported = lt.import_template(session, exported.replace("version: 1", "version: 7"))
        assert imported.revision == 4 and imported.version == "7"
        assert lt.export_template(session, "closing") == exported.replace("version: 1", "version: 7")
        with pytest.raises(ValidationError):
            lt.import_template(session, "key: closing\ntitle: X\n---\n{{ person.__class__ }}")
        with pytest.raises(UserError, match="Unbekannte Vorlage"):
            lt.import_template(session, "key: nope\ntitle: X\n---\nText")
        assert lt.get_template(session, "closing").revision == 4


def test_save_without_seed_creates_row(ctx):
    with ctx.write() as session:
        saved = lt.save_template(session, "privacy", "Kurz: {{ buero.name }}")
        assert saved.revision == 2 and saved.subject == lt.default_templates()["privacy"].subject
        assert lt.seed_templates(session) == len(lt.TEMPLATE_KEYS) - 1


def test_template_injection_prints_literally():
    context = lt.sample_context()
    context["person"]["name"] = "{{ 7*7 }} {% if true %}x{% endif %}"
    text = "\n".join(lt.render(lt.default_templates()["consent"].body, context))
    assert "{{ 7*7 }} {% if true %}x{% endif %}" in text
    assert "49" not in text


_free_text = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
        st.sampled_from(
            ["{{", "}}", "{%", "%}", "{#", "<b>", "</b>", "&", "'", '"', "\x00", "\x1b", "\n", "{{ 7*7 }}"]
        ),
    ),
    max_size=8,
).map("".join)


def _norm(text: str) -> str:
    return " ".join(text.split())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_free_text, free=_free_text, key=st.sampled_from(lt.TEMPLATE_KEYS))
def test_arbitrary_values_never_raise_and_print_literally(name, free, key):
    context = copy.deepcopy(lt.sample_context())
    context["person"]["name"] = name
    context["vermittlung"]["traeger"] = free
    context["empfaenger"]["name"] = free
    context["termin"]["ort"] = free
    context["fall"]["ziele"][0]["titel"] = free
    source = lt.default_templates()[key]
    output = "\n".join(lt.render(source.body, context)) + "\n" + lt.render_subject(source.subject, context)
    uses = source.body + source.subject
    if "person.name" in uses and _norm(name):
        assert _norm(name) in _norm(output)
    if any(p in uses for p in ("vermittlung.traeger", "termin.ort", "ziel.titel")) and _norm(free):
        assert _norm(free) in _norm(output)
