"""PersonListModel: Qt model contract (browse and search mode) and lazy paging over a real SQLite file."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from kim_desktop.services.person_list import SqlitePersonList
from kim_desktop.services.persons import list_persons, rows_by_ids
from kim_desktop.services.search import search_persons
from kim_desktop.ui import person_list
from kim_desktop.ui.person_list import ID_ROLE, PAGE_SIZE, PersonListModel


class CountingSource:
    """Wraps a list source and records which pages the model asked for."""

    def __init__(self, source) -> None:
        self.source = source
        self.pages: list[int] = []
        self.counts = 0

    def count(self) -> int:
        self.counts += 1
        return self.source.count()

    def page(self, offset: int, limit: int):
        self.pages.append(offset // limit)
        return self.source.page(offset, limit)


@pytest.fixture
def source(db_path):
    src = SqlitePersonList(db_path)
    yield src
    src.close()


@pytest.fixture
def model(qtbot, source):
    m = PersonListModel()
    m.set_source(source, source.residence_labels("de"))
    yield m


def _hits(ctx, text: str):
    with ctx.read() as session:
        return rows_by_ids(session, [h.id for h in search_persons(session, text, limit=200)])


def test_more_than_two_pages(model, ui):
    assert ui.PERSON_COUNT > 2 * PAGE_SIZE
    assert model.rowCount() == ui.PERSON_COUNT
    assert model.columnCount() == len(PersonListModel.COLUMNS)


def test_model_contract_browse_mode(qtmodeltester, model):
    qtmodeltester.check(model)
    assert not model.searching


def test_model_contract_python_tester(qtmodeltester, model):
    qtmodeltester.check(model, force_py=True)


def test_model_contract_search_mode_and_switching(qtmodeltester, model, ui_ctx, ui):
    hits = _hits(ui_ctx, "Schmidt")  # 10 exact hits first, then the phonetic prefix hits (Schneider)
    assert len(hits) > 10
    model.show_hits(hits)
    qtmodeltester.check(model)  # keeps watching the resets below
    assert model.searching and model.rowCount() == len(hits)
    assert {model.index(r, 0).data() for r in range(10)} == {"Schmidt"}
    model.show_hits([])
    assert model.rowCount() == 0
    model.show_all()
    assert not model.searching and model.rowCount() == ui.PERSON_COUNT
    model.show_hits(_hits(ui_ctx, "mueller"))
    assert model.rowCount() == 1 and model.index(0, 0).data() == "Müller"


def test_rows_equal_service_order_across_page_borders(model, ui_ctx, ui):
    with ui_ctx.read() as session:
        expected = list_persons(session, 0, 1000)
    assert len(expected) == ui.PERSON_COUNT
    for row in (0, PAGE_SIZE - 1, PAGE_SIZE, 2 * PAGE_SIZE - 1, 2 * PAGE_SIZE, ui.PERSON_COUNT - 1):
        assert model.index(row, 0).data(ID_ROLE) == expected[row].id
    assert model.row_at(ui.PERSON_COUNT) is None and model.row_at(-1) is None
    assert not model.index(ui.PERSON_COUNT, 0).isValid()


def test_last_row_is_alphabetically_last(model, ui):
    last = model.row_at(ui.PERSON_COUNT - 1)
    assert (last.family_name, last.given_names) == (ui.LAST["family_name"], ui.LAST["given_names"])
    first = model.row_at(0)
    assert first.family_name == "Abel"


def test_display_roles(model, ui_ctx):
    rows = _hits(ui_ctx, "Quast Adam")
    model.show_hits(rows)
    assert [model.index(0, c).data() for c in range(5)] == ["Quast", "Adam", "unbekannt", "Düren", ""]
    assert model.index(0, 0).data(Qt.ItemDataRole.AccessibleTextRole) == "Quast"
    assert model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) is None
    model.show_hits(_hits(ui_ctx, "mueller"))
    assert model.index(0, 2).data() == "14.07.1979"
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Familienname"
    assert model.headerData(0, Qt.Orientation.Vertical) is None


def test_lazy_paging_in_the_window(qtbot, window, ui):
    """With 250 persons the visible table needs page 0 only; pages load when the view scrolls there."""
    source = CountingSource(window._test_source)
    window.set_list_source(source)
    model = window.list_page.model
    table = window.list_page.table
    qtbot.wait(50)  # let the view paint (and ask for data)
    assert model.rowCount() == ui.PERSON_COUNT
    assert source.counts == 1
    assert set(source.pages) == {0}, source.pages
    assert len(model._pages) <= 1
    assert table.model().index(0, 0).data() == "Abel"

    table.scrollToBottom()
    qtbot.wait(50)
    assert set(source.pages) == {0, 2}, "page 1 was never visible, so it must not be fetched"
    assert len(model._pages) == 2
    last = model.row_at(ui.PERSON_COUNT - 1)
    assert last.family_name == ui.LAST["family_name"]
    assert source.pages.count(2) == 1, "a cached page is not fetched again"


def test_page_cache_is_bounded(model, source, monkeypatch, ui_ctx):
    monkeypatch.setattr(person_list, "MAX_PAGES", 2)
    counting = CountingSource(source)
    model.set_source(counting)
    for row in (0, PAGE_SIZE, 2 * PAGE_SIZE):
        model.row_at(row)
    assert len(model._pages) == 2 and list(model._pages) == [1, 2]
    with ui_ctx.read() as session:
        expected = list_persons(session, 0, 1)[0]
    assert model.row_at(0) == expected  # evicted page is fetched again, correctly
    assert counting.pages == [0, 1, 2, 0]


def test_refresh_reloads_count(model, ui_ctx, ui):
    from kim_desktop.services.persons import create_person

    model.row_at(0)
    create_person(ui_ctx, {"family_name": "Aaberg", "given_names": "Ada"})
    assert model.rowCount() == ui.PERSON_COUNT  # unchanged until refreshed
    model.refresh()
    assert model.rowCount() == ui.PERSON_COUNT + 1
    assert model.row_at(0).family_name == "Aaberg"
