"""``services.setup``: the first start's database, all or nothing."""

from __future__ import annotations

import pytest

from kim_desktop.errors import ValidationError
from kim_desktop.services.setup import SetupAnswers, SetupCancelled, create_office_database

PASSWORD = "ein-gutes-passwort-1"


def answers(**changes) -> SetupAnswers:
    values = dict(
        profile={"organisation": "Stadt Beispiel", "postcode": "50667", "city": "Köln"},
        username="leitung",
        display_name="Lea Leitung",
        password=PASSWORD,
        retention_years=2,
        letter_form="b",
    )
    values.update(changes)
    return SetupAnswers(**values)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_answers_are_stored_through_the_services(tmp_path, fast_kdf):
    from kim_desktop.services import office, protection_settings

    path = tmp_path / "kim.sqlite3"
    steps = []
    ctx = create_office_database(path, answers(), progress=lambda done, total: steps.append((done, total)))
    try:
        assert ctx.database.encrypted
        assert ctx.actor.display_name == "Lea Leitung"
        with ctx.read() as session:
            assert office.load_profile(session)["city"] == "Köln"
            assert office.letter_form(session) == "B"
        assert protection_settings.load(ctx).retention_years == 2
    finally:
        ctx.database.dispose()
    assert steps[0] == (0, 4) and steps[-1] == (4, 4)
    assert {"kim.sqlite3", "kim.sqlite3.keys"} <= set(leftovers(tmp_path))


def test_invalid_answers_make_no_file(tmp_path, fast_kdf):
    with pytest.raises(ValidationError) as caught:
        create_office_database(
            tmp_path / "kim.sqlite3",
            answers(profile={"organisation": "Stadt", "postcode": "1"}, password="kurz", retention_years=200),
        )
    errors = caught.value.field_errors
    assert {"postcode", "password", "retention_years"} <= set(errors)
    assert leftovers(tmp_path) == []


def test_cancel_during_demo_data_removes_the_database(tmp_path, fast_kdf):
    def progress(done, total):
        return False if done > 4 else None  # cancelled once the demo persons are being written

    with pytest.raises(SetupCancelled):
        create_office_database(tmp_path / "kim.sqlite3", answers(demo=True), progress=progress)
    assert leftovers(tmp_path) == []


def test_a_failure_half_way_removes_everything(tmp_path, fast_kdf):
    bad_logo = tmp_path / "logo.png"
    bad_logo.write_bytes(b"not an image at all")
    folder = tmp_path / "data"
    from kim_desktop.errors import UserError

    with pytest.raises(UserError):
        create_office_database(folder / "kim.sqlite3", answers(logo_path=str(bad_logo)))
    assert leftovers(folder) == []


def test_plain_database_on_explicit_choice(tmp_path):
    from kim_desktop.db.engine import is_encrypted_file

    path = tmp_path / "kim.sqlite3"
    ctx = create_office_database(path, answers(encrypt=False, password=""))
    try:
        assert not ctx.database.encrypted and not is_encrypted_file(path)
        assert ctx.actor.user_id is None  # the local single user
    finally:
        ctx.database.dispose()
