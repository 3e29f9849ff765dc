"""Shared helpers: run the CLI in-process (typer's CliRunner) or as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from conv_cost.cli import app

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "layer_specs"
GOLDEN = Path(__file__).resolve().parent / "golden"


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


def run_cli(args: list[str], cwd: Path | None = None, stdin: str | None = None) -> Result:
    """Invoke the typer app in-process; exceptions propagate so a crash fails the test loudly."""
    with working_directory(cwd):
        r = CliRunner().invoke(app, args, input=stdin, catch_exceptions=False)
    return Result(r.exit_code, r.stdout, r.stderr)


def run_process(args: list[str], cwd: Path | None = None, stdin: str | None = None,
                env: dict[str, str] | None = None) -> Result:
    """Run `python -m conv_cost` as a real process, as a user's shell would."""
    p = subprocess.run([sys.executable, "-m", "conv_cost", *args], cwd=cwd, input=stdin, capture_output=True,
                       text=True, env={**os.environ, **(env or {})}, timeout=120)
    return Result(p.returncode, p.stdout, p.stderr)


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/<name>; UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text()
