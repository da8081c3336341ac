"""Build the PyInstaller bundle (``dist/kim-desktop/``) and check that it starts; print size and start time.

    uv run python scripts/build_bundle.py                 # build, smoke test, size and start time
    uv run python scripts/build_bundle.py --skip-build    # only check and measure an existing bundle
    uv run python scripts/build_bundle.py --runs 10 --json bundle.json

The same spec (``installer/kim-desktop.spec``) builds the Windows bundle in the GitHub Actions workflow; on
Linux this script is what ``.ci/run`` calls. Every run of the bundle happens in a temporary folder with its
own HOME/XDG folders (and APPDATA on Windows), offscreen, without a log file, so nothing of the user's is read
or written. Exit 1 when the build or any check fails.

Measured:
* ``size_mb``: the bundle folder on disk (files, symlinks not followed), what an installation takes.
* ``first_start_s``: median wall time of the very first start of a new installation to the setup assistant:
  ``kim-desktop --db NEW --exit-after-start`` with ``KIM_DESKTOP_EXIT_AT_SETUP=1`` and an empty user profile
  (the database file does not exist yet, so the assistant is shown; it ends as soon as it is on screen).
* ``new_database_start_s``: the same without the assistant (``--exit-after-start`` alone creates an empty
  database: migrated, code lists seeded, window shown, first page of the empty person list loaded).
* ``start_s``: a start on that existing database (every later start).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "installer" / "kim-desktop.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
BUNDLE = DIST / "kim-desktop"
SIZE_LIMIT_MB = 250
FIRST_START_LIMIT_S = 3.0
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""


def gui_exe(bundle: Path = BUNDLE) -> Path:
    return bundle / f"kim-desktop{EXE_SUFFIX}"


def cli_exe(bundle: Path = BUNDLE) -> Path:
    return bundle / f"kim-desktop-cli{EXE_SUFFIX}"


def build(clean: bool = False) -> None:
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(DIST),
        "--workpath",
        str(WORK),
        str(SPEC),
    ]
    if clean:
        command.insert(3, "--clean")
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    print(f"bundle built in {time.perf_counter() - started:.0f} s: {BUNDLE.relative_to(ROOT)}")


def bundle_size_bytes(bundle: Path = BUNDLE) -> int:
    total = 0
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def isolated_env(home: Path) -> dict[str, str]:
    """Environment for a run of the bundle: offscreen, no log file, every user folder inside ``home``."""
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        KIM_DESKTOP_NO_LOG_FILE="1",
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        APPDATA=str(home / "AppData" / "Roaming"),
        LOCALAPPDATA=str(home / "AppData" / "Local"),
    )
    for name in ("KIM_USER", "KIM_DB_PASSWORD"):
        env.pop(name, None)
    return env


def run(exe: Path, args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(exe), *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


class SmokeFailure(Exception):
    pass


def _expect(result: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if result.returncode != 0:
        raise SmokeFailure(f"{what}: exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    print(f"  ok  {what}")
    return result


def smoke(bundle: Path = BUNDLE) -> None:
    """The bundle's executables start and the frozen parts work: migrations, code lists, fonts, Arabic
    shaping, translations, SQLCipher, the GUI offscreen."""
    from kim_desktop import __version__

    print(f"smoke test of {bundle}")
    with tempfile.TemporaryDirectory(prefix="kim-bundle-") as tmp:
        folder = Path(tmp)
        env = isolated_env(folder / "home")
        cli, gui = cli_exe(bundle), gui_exe(bundle)
        version = _expect(run(cli, ["--version"], env), "kim-desktop-cli --version")
        if __version__ not in version.stdout:
            raise SmokeFailure(f"--version printed {version.stdout!r}, expected {__version__}")
        db = folder / "x.sqlite3"
        _expect(run(cli, ["--db", str(db), "init"], env), "kim-desktop-cli --db x.sqlite3 init (migrations)")
        _expect(run(cli, ["--db", str(db), "check"], env), "kim-desktop-cli check")
        _expect(
            run(cli, ["--db", str(db), "demo", "--persons", "20"], env), "kim-desktop-cli demo --persons 20"
        )
        cases = _expect(
            run(cli, ["--db", str(db), "cases", "--limit", "1", "--json"], env), "kim-desktop-cli cases"
        )
        person = json.loads(cases.stdout)[0]["person_id"]
        pdf = folder / "privacy-ar.pdf"
        _expect(
            run(
                cli,
                ["--db", str(db), "letter", "privacy", "--person", person, "--lang", "ar", "--out", str(pdf)],
                env,
            ),
            "kim-desktop-cli letter privacy --lang ar (fonts, Arabic shaping)",
        )
        if not pdf.read_bytes().startswith(b"%PDF"):
            raise SmokeFailure("the letter is not a PDF")
        english = _expect(
            run(cli, ["--language", "en", "--db", str(folder / "en.sqlite3"), "init"], env), "--language en"
        )
        if "Database" not in english.stdout:
            raise SmokeFailure(f"English translation not used: {english.stdout!r}")
        encrypted_env = dict(env, KIM_USER="admin", KIM_DB_PASSWORD="Bundle-Smoke-Passwort-1")
        secret = folder / "secret.sqlite3"
        _expect(
            run(cli, ["--db", str(secret), "init"], encrypted_env), "init encrypted (SQLCipher, Argon2id)"
        )
        _expect(
            run(gui, ["--db", str(secret), "--exit-after-start"], encrypted_env),
            "kim-desktop --exit-after-start on the encrypted database",
        )
        _expect(
            run(gui, ["--db", str(folder / "demo.sqlite3"), "--demo", "--exit-after-start"], env),
            "kim-desktop --demo --exit-after-start (offscreen)",
        )
        fresh = folder / "fresh.sqlite3"
        _expect(
            run(gui, ["--db", str(fresh), "--exit-after-start"], dict(env, KIM_DESKTOP_EXIT_AT_SETUP="1")),
            "kim-desktop first start: setup assistant shown (offscreen)",
        )
        if fresh.exists():
            raise SmokeFailure("the setup assistant was not shown: the database was created")


def _timed(exe: Path, args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = run(exe, args, env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SmokeFailure(f"start failed ({' '.join(args)}): {result.stderr}")
    return elapsed


def measure_starts(bundle: Path = BUNDLE, runs: int = 5) -> dict[str, object]:
    """Median wall times of the first start to the setup assistant, of a start that creates a new database
    without it, and of a later start on that database."""
    figures: dict[str, list[float]] = {"first_start": [], "new_database_start": [], "start": []}
    gui = gui_exe(bundle)
    with tempfile.TemporaryDirectory(prefix="kim-bundle-time-") as tmp:
        folder = Path(tmp)
        _timed(gui, ["--db", str(folder / "warm.sqlite3"), "--exit-after-start"], isolated_env(folder / "w"))
        for index in range(runs):
            env = isolated_env(
                folder / f"home{index}"
            )  # a new user profile each time: no settings, no database
            db = folder / f"first{index}.sqlite3"
            args = ["--db", str(db), "--exit-after-start"]
            figures["first_start"].append(_timed(gui, args, dict(env, KIM_DESKTOP_EXIT_AT_SETUP="1")))
            if db.exists():
                raise SmokeFailure("the setup assistant was not shown: the database was created")
            figures["new_database_start"].append(_timed(gui, args, env))
            figures["start"].append(_timed(gui, args, env))
    result: dict[str, object] = {}
    for name, values in figures.items():
        result[f"{name}_s"] = round(statistics.median(values), 3)
        result[f"{name}_runs"] = [round(x, 3) for x in values]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-build", action="store_true", help="check and measure an existing dist/kim-desktop"
    )
    parser.add_argument("--clean", action="store_true", help="PyInstaller --clean (no cached analysis)")
    parser.add_argument("--skip-smoke", action="store_true")
    parser.add_argument("--runs", type=int, default=5, help="start time runs (default 5, 0 = no timing)")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args(argv)
    try:
        if not args.skip_build:
            build(clean=args.clean)
        if not gui_exe().is_file() or not cli_exe().is_file():
            print(f"no bundle in {BUNDLE}", file=sys.stderr)
            return 1
        if not args.skip_smoke:
            smoke()
        figures: dict[str, object] = {
            "platform": sys.platform,
            "size_mb": round(bundle_size_bytes() / 1e6, 1),
        }
        if args.runs > 0:
            figures.update(measure_starts(runs=args.runs))
    except (SmokeFailure, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"bundle check failed: {exc}", file=sys.stderr)
        return 1
    ok = figures["size_mb"] <= SIZE_LIMIT_MB  # type: ignore[operator]
    print(f"bundle size: {figures['size_mb']} MB (limit {SIZE_LIMIT_MB} MB)")
    if "first_start_s" in figures:
        print(
            f"first start to the setup assistant: {figures['first_start_s']} s (limit {FIRST_START_LIMIT_S} s); "
            f"start creating a new database: {figures['new_database_start_s']} s; later start: {figures['start_s']} s; "
            f"median of {args.runs}"
        )
        if figures["first_start_s"] > FIRST_START_LIMIT_S:  # type: ignore[operator]
            # a warning, not a failure: CI shares two cores with other work, so a slow run is no proof
            print("warning: the first start took longer than the target", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if shutil.which("du"):
        subprocess.run(["du", "-sh", str(BUNDLE)], check=False)
    if not ok:
        print("bundle over its size limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
