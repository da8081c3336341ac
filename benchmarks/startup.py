"""GUI start time and memory, measured from outside: spawn a process, wait for its exit.

``start_s`` is the wall time of ``python -m kim_desktop --db DB --exit-after-start`` (window shown and the
first page of the person list loaded, then exit). ``bare_s`` is the same for a script that only shows an
empty ``QMainWindow``: the ratio says what KIM Desktop adds on top of Python + Qt on this machine. Peak RSS
comes from ``os.wait4`` (the rusage of exactly that child; Linux reports ru_maxrss in KiB).

Run this module as its own small process (``python -m benchmarks.startup``, which is what ``python -m
benchmarks`` does): Linux folds the memory high-water mark of the *spawning* process into the child's
``ru_maxrss`` (``posix_spawn``/``vfork`` share the parent's address space until ``exec``), so a parent that
has SQLAlchemy and a database loaded would report its own size as the child's peak.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BARE_SCRIPT = """
import sys
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1200, 800)
window.show()
app.processEvents()
sys.exit(0)
"""


@dataclass
class RunResult:
    seconds: float
    returncode: int
    rss_mb: float | None
    stderr: str = ""


@dataclass
class Timing:
    median_s: float | None
    runs: list[float] = field(default_factory=list)
    rss_mb: float | None = None  # highest peak RSS over the measured runs
    error: str | None = None


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["KIM_DESKTOP_NO_LOG_FILE"] = "1"
    return env


def run_once(argv: list[str], *, timeout: float = 60.0, cwd: Path | None = None) -> RunResult:
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=child_env(), cwd=cwd)
        rss_mb = None
        if hasattr(os, "wait4"):
            deadline = started + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.002)
            elapsed = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            rss_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 1024 / 1024
        else:  # pragma: no cover - Windows: time only
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            elapsed = time.perf_counter() - started
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return RunResult(elapsed, proc.returncode, rss_mb, stderr[-2000:])


def measure(argv: list[str], *, runs: int = 5, warmup: int = 1, cwd: Path | None = None, log=print) -> Timing:
    """Median wall time of ``runs`` runs after ``warmup`` unmeasured ones; stops at the first failure."""
    results = []
    for i in range(warmup + runs):
        result = run_once(argv, cwd=cwd)
        if result.returncode != 0:
            tail = result.stderr.strip().splitlines()[-5:]
            return Timing(None, error=f"exit code {result.returncode}: " + " | ".join(tail))
        if i >= warmup:
            results.append(result)
            log(
                f"  run {i - warmup + 1}: {result.seconds:.3f} s"
                + (f", {result.rss_mb:.0f} MB" if result.rss_mb else "")
            )
    rss = [r.rss_mb for r in results if r.rss_mb is not None]
    return Timing(statistics.median(r.seconds for r in results), [round(r.seconds, 4) for r in results],
                  max(rss) if rss else None)  # fmt: skip


def gui_argv(db: Path) -> list[str]:
    return [sys.executable, "-m", "kim_desktop", "--db", str(db), "--exit-after-start"]


def bare_argv() -> list[str]:
    return [sys.executable, "-c", BARE_SCRIPT]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cwd", type=Path, default=None)
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    log("Bare Qt window (python -c: QApplication + QMainWindow, show, processEvents) …")
    bare = measure(bare_argv(), runs=args.runs, cwd=args.cwd, log=log)
    log("GUI start (python -m kim_desktop --db … --exit-after-start) …")
    gui = measure(gui_argv(args.db), runs=args.runs, cwd=args.cwd, log=log)
    print(json.dumps({"bare": bare.__dict__, "gui": gui.__dict__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
