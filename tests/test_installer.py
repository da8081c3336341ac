"""The installer's inputs, checked without building: the version resource made from ``__version__``, the
icon, the Inno Setup script (both languages, per-user/per-machine, data kept on uninstall) and the files
the spec and the workflow name. The bundle itself is tested in tests/test_bundle.py."""

from __future__ import annotations

import importlib.util
import re
import struct
from pathlib import Path

import pytest

from kim_desktop import __version__

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


version_info = _load("version_info", INSTALLER / "version_info.py")


def _evaluate_version_file(text: str) -> dict:
    """Evaluate the VSVersionInfo expression with stand-ins that record their arguments."""

    def recorder(kind):
        return lambda *args, **kwargs: {"kind": kind, "args": args, **kwargs}

    names = [
        "VSVersionInfo",
        "FixedFileInfo",
        "StringFileInfo",
        "StringTable",
        "StringStruct",
        "VarFileInfo",
        "VarStruct",
    ]
    return eval(text, {"__builtins__": {}}, {n: recorder(n) for n in names})  # noqa: S307 - our own generated file


def test_version_resource_carries_the_package_version(tmp_path):
    assert version_info.app_version() == __version__
    path = version_info.write_version_file(tmp_path, __version__, "kim-desktop", "kim-desktop.exe")
    info = _evaluate_version_file(path.read_text(encoding="utf-8"))
    numbers = version_info.numeric_version(__version__)
    assert info["ffi"]["filevers"] == numbers and info["ffi"]["prodvers"] == numbers
    table = info["kids"][0]["args"][0][0]
    assert table["args"][0] == "040704B0"  # German, Unicode
    strings = {s["args"][0]: s["args"][1] for s in table["args"][1]}
    assert strings["ProductVersion"] == strings["FileVersion"] == __version__
    assert strings["OriginalFilename"] == "kim-desktop.exe"
    assert strings["ProductName"] == "KIM Desktop"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1.0", (0, 1, 0, 0)),
        ("1.2", (1, 2, 0, 0)),
        ("2.3.4.5", (2, 3, 4, 5)),
        ("1.2.0rc1", (1, 2, 0, 0)),
        ("3.0.1+local7", (3, 0, 1, 0)),
    ],
)
def test_numeric_version_has_four_numbers(text, expected):
    assert version_info.numeric_version(text) == expected


def test_icon_holds_the_windows_sizes():
    data = (INSTALLER / "kim-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind) == (0, 1)  # an icon file
    sizes = set()
    for index in range(count):
        width, height = struct.unpack_from("<BB", data, 6 + 16 * index)
        sizes.add((width or 256, height or 256))
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= sizes
    assert (INSTALLER / "kim-desktop.png").read_bytes().startswith(b"\x89PNG")


def _iss() -> str:
    raw = (INSTALLER / "kim-desktop.iss").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Inno Setup reads UTF-8 (umlauts) only with a BOM"
    return raw.decode("utf-8-sig")


def _section(text: str, name: str) -> str:
    match = re.search(rf"^\[{name}\]\n(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, name
    return match.group(1)


def test_inno_setup_script_offers_per_user_and_per_machine_install():
    setup = _section(_iss(), "Setup")
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", setup, re.MULTILINE)
    assert "PrivilegesRequired=lowest" in setup
    assert re.search(r"^PrivilegesRequiredOverridesAllowed=dialog\b", setup, re.MULTILINE)
    assert "DefaultDirName={autopf}\\" in setup  # Program Files or the user's Programs folder
    assert "AppVersion={#AppVersion}" in setup
    assert "SetupIconFile=kim-desktop.ico" in setup
    assert "UninstallDisplayIcon={app}\\{#AppExe}" in setup


def test_inno_setup_texts_exist_in_german_and_english():
    text = _iss()
    languages = _section(text, "Languages")
    assert 'Name: "de"; MessagesFile: "compiler:Languages\\German.isl"' in languages
    assert 'Name: "en"; MessagesFile: "compiler:Default.isl"' in languages
    messages = re.findall(r"^(de|en)\.(\w+)=(.+)$", _section(text, "CustomMessages"), re.MULTILINE)
    german = {key for lang, key, _ in messages if lang == "de"}
    english = {key for lang, key, _ in messages if lang == "en"}
    assert german == english and german
    used = set(re.findall(r"\{cm:(\w+)\}", text)) | set(re.findall(r"CustomMessage\('(\w+)'\)", text))
    built_in = {"CreateDesktopIcon", "AdditionalIcons"}
    assert used - built_in <= german
    assert "gelöscht" in dict((k, v) for lang, k, v in messages if lang == "de")["DataKept"]


def test_start_menu_entries_and_uninstaller_keep_the_data():
    text = _iss()
    icons = _section(text, "Icons")
    assert 'Name: "{group}\\{#AppName}"; Filename: "{app}\\{#AppExe}"' in icons
    assert "{uninstallexe}" in icons
    assert "Tasks: desktopicon" in icons
    uninstall_delete = _section(text, "UninstallDelete")
    assert "{app}" in uninstall_delete
    assert "localappdata" not in uninstall_delete.lower() and "userappdata" not in uninstall_delete.lower()
    assert "usPostUninstall" in text  # tells where the data stayed


def test_spec_and_workflow_name_existing_files():
    spec = (INSTALLER / "kim-desktop.spec").read_text(encoding="utf-8")
    assert '"kim_desktop_entry.py"' in spec and (INSTALLER / "kim_desktop_entry.py").is_file()
    assert '"kim-desktop.ico"' in spec
    assert '(str(ROOT / "resources"), "resources")' in spec
    assert '"kim_desktop/db/migrations"' in spec
    assert 'name="kim-desktop-cli"' in spec or '_exe("kim-desktop-cli"' in spec
    workflow = (ROOT / ".github" / "workflows" / "windows-installer.yml").read_text(encoding="utf-8")
    assert "windows-latest" in workflow and 'python-version: "3.11"' in workflow
    for path in ("installer/kim-desktop.spec", "installer\\kim-desktop.iss", "scripts/build_bundle.py"):
        assert path in workflow, path
    assert "--exit-after-start" in workflow


def test_resources_are_found_in_the_frozen_bundle_folder_first(tmp_path, monkeypatch):
    """A PyInstaller bundle sets ``sys._MEIPASS`` to its ``_internal`` folder, where the spec puts resources/."""
    import sys

    from kim_desktop import resources

    (tmp_path / "resources" / "fonts").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    resources.resources_root.cache_clear()
    try:
        assert resources.resource_path("fonts") == tmp_path / "resources" / "fonts"
    finally:
        monkeypatch.undo()
        resources.resources_root.cache_clear()
    assert (resources.resource_path("fonts") / "DejaVuSans.ttf").is_file()  # the source checkout again
