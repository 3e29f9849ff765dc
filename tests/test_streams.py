"""Faults of the environment get one line and a documented exit status, never an 'internal error':
closed, full or broken standard streams, an encoding without the table's characters, a huge
--max-bytes, and signals at any moment. Each case is a real process with 1 GiB of address space
and a time limit (tests/bounded.py)."""

from __future__ import annotations

import os
import signal
import shutil
import subprocess

import pytest

from .bounded import CLOSED, TIMEOUT, command, convcost, environment, start
from .conftest import SEED, SPECS, run_cli
EXIT_IO = 74


@pytest.fixture
def seed(tmp_path):
    shutil.copy(SEED, tmp_path / "seed.yaml")
    return tmp_path / "seed.yaml"


def test_codes_match_the_module():
    from conv_cost.output import EXIT_IO as code, EXIT_USAGE

    assert (code, EXIT_USAGE) == (EXIT_IO, 2)


# ----------------------------------------------------------------------------- closed streams

@pytest.mark.parametrize("command", [["report", "seed.yaml"], ["compare", "seed.yaml"], ["explain", "seed.yaml"],
                                     ["report", "seed.yaml", "-o", "-"], ["report", "seed.yaml", "--json"]])
def test_closed_standard_output(tmp_path, seed, command):
    ran = convcost(command, tmp_path, stdout=CLOSED)
    assert ran.returncode == EXIT_IO
    assert ran.stderr == ("convcost: error: cannot write the result: standard output is closed; "
                          "give --output FILE or run with standard output open\n")


@pytest.mark.parametrize("command", [["check", "-v", "seed.yaml"], ["schema"], ["--version"]])
def test_closed_standard_output_for_the_other_commands(tmp_path, seed, command):
    ran = convcost(command, tmp_path, stdout=CLOSED)
    assert (ran.returncode, ran.stderr) == (EXIT_IO, "convcost: error: cannot write the result: standard output "
                                                     "is closed\n")


def test_closed_standard_output_does_not_matter_with_an_output_file(tmp_path, seed):
    ran = convcost(["report", "seed.yaml", "-o", "r.json"], tmp_path, stdout=CLOSED)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert (tmp_path / "r.json").read_text().startswith("{")


@pytest.mark.parametrize("command", ["report", "check", "compare", "explain"])
def test_closed_standard_input(tmp_path, command):
    ran = convcost([command, "-"], tmp_path, stdin=CLOSED)
    assert (ran.returncode, ran.stdout) == (EXIT_IO, "")
    assert ran.stderr == "convcost: error: cannot read '-': standard input is closed\n"


# ----------------------------------------------------------------------------- full and broken

@pytest.mark.parametrize("command", [["report", "seed.yaml"], ["report", "seed.yaml", "--format", "csv"],
                                     ["check", "-v", "seed.yaml"], ["schema"], ["--version"]])
def test_full_standard_output(tmp_path, seed, command):
    with open("/dev/full", "wb") as full:
        ran = convcost(command, tmp_path, stdout=full.fileno())
    assert ran.returncode == EXIT_IO
    assert ran.stderr == "convcost: error: cannot write to standard output: No space left on device\n"


@pytest.mark.parametrize("command", [["--help"], ["report", "--help"]])
def test_help_into_a_full_standard_output(tmp_path, command):
    with open("/dev/full", "wb") as full:
        ran = convcost(command, tmp_path, stdout=full.fileno())
    assert (ran.returncode, ran.stderr) == (EXIT_IO, "convcost: error: No space left on device\n")


@pytest.mark.parametrize("command", [["report", "zoo.yaml"], ["report", "zoo.yaml", "--json"], ["schema"]])
def test_a_reader_that_has_gone_ends_it_quietly_by_sigpipe(tmp_path, command):
    # `convcost ... | true`: the reading end is closed before convcost writes.
    shutil.copy(SPECS / "resnet50.yaml", tmp_path / "zoo.yaml")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        ran = convcost(command, tmp_path, stdout=write_end)
    finally:
        os.close(write_end)
    assert (ran.returncode, ran.stderr) == (128 + signal.SIGPIPE, "")  # the shell shows 141, as for `cat`


LONG_SPEC = ("input: [8, 8, 8]\nlayers:\n  - {type: repeat, name: r, times: 2000, "
             "body: [{type: conv, filters: 8, kernel: 3}, {type: relu}]}\n")


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path):
    # `convcost explain big.yaml | head -1`, with more output (2 MB) than a pipe holds (64 KiB).
    (tmp_path / "big.yaml").write_text(LONG_SPEC)
    p = start(["explain", "big.yaml", "-f", "markdown"], tmp_path)
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read()
    p.wait(timeout=TIMEOUT)
    assert first == b"# big\n"
    assert (p.returncode, err) == (128 + signal.SIGPIPE, b"")


# ----------------------------------------------------------------------------- encodings

@pytest.mark.parametrize("encoding, name", [("ascii", "ascii"), ("latin-1", "iso8859-1")])
def test_an_encoding_without_the_tables_characters(tmp_path, seed, encoding, name):
    # The table is drawn with +-| and # where the output cannot carry box and block characters.
    ran = convcost(["report", "seed.yaml"], tmp_path, env={"PYTHONIOENCODING": encoding})
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout.isascii() and "| conv5x5 |" in ran.stdout and "#" in ran.stdout


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown"])
def test_an_ascii_standard_output_takes_what_it_can_encode(tmp_path, seed, fmt):
    ran = convcost(["report", "seed.yaml", "--format", fmt], tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert ran.returncode == 0
    assert ran.stdout == convcost(["report", "seed.yaml", "--format", fmt], tmp_path).stdout


def test_an_encoding_with_a_byte_order_mark_writes_it_once(tmp_path, seed):
    # The result is encoded in pieces; a stateful codec must still make one well-formed stream.
    (tmp_path / "big.yaml").write_text(LONG_SPEC)  # its explanation is two pieces long
    p = subprocess.run(command(["explain", "big.yaml", "-f", "markdown"]), cwd=tmp_path, capture_output=True,
                       timeout=TIMEOUT, env=environment({"PYTHONIOENCODING": "utf-16"}))
    assert p.returncode == 0
    text = run_cli(["explain", "big.yaml", "-f", "markdown"], cwd=tmp_path).stdout
    assert len(text) > 1024 * 1024  # more than one piece
    assert p.stdout.count(b"\xff\xfe") == 1
    assert p.stdout.decode("utf-16") == text


def test_an_output_file_is_utf8_whatever_the_locale(tmp_path, seed):
    ran = convcost(["report", "seed.yaml", "-o", "t.txt"], tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert ran.returncode == 0
    assert "┏" in (tmp_path / "t.txt").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- --max-bytes

@pytest.mark.parametrize("limit", ["100000000000", "9223372036854775807", str(10**40)])
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_a_huge_max_bytes_allocates_nothing(tmp_path, seed, limit, source):
    arg, stdin = ("seed.yaml", b"") if source == "file" else ("-", seed.read_bytes())
    ran = convcost(["report", "--max-bytes", limit, arg, "--json"], tmp_path, stdin=stdin)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout == run_cli(["report", arg, "--json"], cwd=tmp_path, stdin=stdin.decode()).stdout


def test_the_size_limit_still_holds_when_read_in_pieces(tmp_path):
    from conv_cost.spec.files import READ_CHUNK

    text = "input: [8, 8, 3]\nlayers: [{type: relu}]\n" + "#" * (3 * READ_CHUNK) + "\n"
    (tmp_path / "t.yaml").write_text(text)
    assert convcost(["check", "--max-bytes", str(len(text)), "t.yaml"], tmp_path).returncode == 0
    ran = convcost(["check", "--max-bytes", str(len(text) - 1), "t.yaml"], tmp_path)
    assert ran.returncode == 1
    assert ran.stderr.startswith(f"t.yaml:1:1: error: the file is larger than the limit of {len(text) - 1:,} bytes")


# ----------------------------------------------------------------------------- signals

def wait_for_stderr_line(p, needle: bytes) -> None:
    """Read the child's stderr until a line containing `needle` (python -X importtime writes one
    per module as it is imported)."""
    for line in p.stderr:
        if needle in line:
            return
    pytest.fail(f"{needle!r} never appeared")


def test_ctrl_c_while_the_program_starts(tmp_path, seed):
    # The signal lands while the command line's modules (typer, rich) are still being imported.
    p = start(["report", "seed.yaml"], tmp_path, python_options=("-X", "importtime"))
    wait_for_stderr_line(p, b" typer.")  # typer's first submodule: some 0.1 s of imports still to come
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=TIMEOUT)
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
    assert p.returncode == 130  # 128 + SIGINT, as the shell shows for a program a signal ended
    assert err.endswith(b"convcost: interrupted\n")
    assert out == b""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_while_reading_standard_input(tmp_path, sig):
    p = start(["report", "-", "-o", "r.md"], tmp_path, python_options=("-X", "importtime"))
    wait_for_stderr_line(p, b"conv_cost.spec.files")  # imported: what follows is the read
    p.send_signal(sig)
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 128 + sig  # 130, 143, 129
    assert b"Traceback" not in err
    if sig == signal.SIGINT:
        assert err.endswith(b"\nconvcost: interrupted\n")
    else:
        assert b"convcost:" not in err
    assert os.listdir(tmp_path) == []  # the --output check made and removed its probe


def test_a_signal_ignored_at_start_stays_ignored(tmp_path):
    # `nohup convcost ...`: SIGHUP is ignored before convcost starts, and must stay ignored.
    p = start(["check", "-"], tmp_path, python_options=("-X", "importtime"), ignore=(signal.SIGHUP,))
    wait_for_stderr_line(p, b"conv_cost.spec.files")
    p.send_signal(signal.SIGHUP)
    out, err = p.communicate(b"input: [8, 8, 3]\nlayers: [{type: relu}]\n", timeout=TIMEOUT)
    assert (p.returncode, out) == (0, b"")
    assert b"convcost:" not in err
