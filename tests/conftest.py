"""Shared paths and helpers: run the CLI in-process (typer's CliRunner) or as a real process, golden files,
and which modules a command imports."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pytest
from typer.testing import CliRunner

from conv_cost.cli import app

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "layer_specs"
BUNDLED = sorted(SPECS.glob("*.yaml"))  # others add specs: tests over every one pick them up
SEED = SPECS / "seed_bottleneck.yaml"
INCEPTION = SPECS / "inception_3a.yaml"
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(autouse=True)
def no_terminal_size(monkeypatch):
    # A developer's COLUMNS/LINES would change table widths; tests that want a width set it themselves.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@contextmanager
def working_directory(path: Path | None):
    old = os.getcwd()
    if path is not None:
        os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_cli(args: list[str | Path], cwd: Path | None = None, stdin: str | None = None) -> Result:
    """Invoke the typer app in-process; exceptions propagate so a crash fails the test loudly."""
    with working_directory(cwd):
        r = CliRunner().invoke(app, [str(a) for a in args], input=stdin, catch_exceptions=False)
    return Result(r.exit_code, r.stdout, r.stderr)


def run_process(args: list[str | Path], cwd: Path | None = None, stdin: str | None = None,
                env: dict[str, str] | None = None) -> Result:
    """Run `python -m conv_cost` as a real process, as a user's shell would."""
    p = subprocess.run([sys.executable, "-m", "conv_cost", *map(str, args)], cwd=cwd, input=stdin, capture_output=True,
                       text=True, env={**os.environ, **(env or {})}, timeout=120)
    return Result(p.returncode, p.stdout, p.stderr)


def check_golden(name: str, out: str | bytes) -> None:
    """Compare with tests/golden/<name>, byte for byte (CSV's CRLF included); UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    data = out if isinstance(out, bytes) else out.encode("utf-8")
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    expected = path.read_bytes()
    if isinstance(out, bytes):
        assert out == expected, f"{name} differs; rerun with UPDATE_GOLDEN=1 if intended"
    else:  # as text, so a failure shows a readable diff
        assert out == expected.decode("utf-8"), f"{name} differs; rerun with UPDATE_GOLDEN=1 if intended"


@dataclass
class Loaded:
    exit_code: int
    stdout: str
    stderr: str
    modules: frozenset[str]

    def loaded(self, names: Iterable[str]) -> list[str]:
        """The imported modules that are one of `names` or inside one of them (a name ending in '.'
        means its submodules only)."""
        def hit(m: str, n: str) -> bool:
            return m.startswith(n) if n.endswith(".") else m == n or m.startswith(n + ".")
        return sorted(m for m in self.modules if any(hit(m, n) for n in names))


MARK = "\0modules:"
# A fresh interpreter imports `imports`, then runs `python -m conv_cost ARGS` (if any args), then writes
# every module it loaded after MARK on stderr.
IMPORTING = """\
import sys
for name in sys.argv[1].split():
    __import__(name)
if len(sys.argv) > 2:
    import runpy
    sys.argv = ['convcost', *sys.argv[2:]]
    try:
        runpy.run_module('conv_cost', run_name='__main__', alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code
else:
    code = 0
sys.stdout.flush()
sys.stderr.write(%r + ' '.join(sorted(sys.modules)))
sys.exit(code)
""" % MARK


def imported_by(args: list[str], cwd: Path, imports: Iterable[str] = ()) -> Loaded:
    """What `convcost ARGS` (after `import` of each of `imports`) imported, in a fresh process run in `cwd`."""
    p = subprocess.run([sys.executable, "-c", IMPORTING, " ".join(imports), *args], cwd=cwd, capture_output=True,
                       text=True, timeout=120)
    stderr, _, modules = p.stderr.partition(MARK)
    return Loaded(p.returncode, p.stdout, stderr, frozenset(modules.split()))
