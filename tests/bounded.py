"""Run `python -m conv_cost` as a user's shell would, with 1 GiB of address space and a time limit,
and with any of its standard streams closed, full, a pipe nobody reads, or a file."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable

GiB = 1024**3
TIMEOUT = 60  # seconds; every case takes well under one on a laptop
CLOSED = "closed"  # as stdin/stdout: the descriptor is closed when convcost starts (`<&-`, `>&-`)
NOBODY = 65534
# Root's capabilities that override file modes: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER.
OVERRIDE_CAPABILITIES = (1, 2, 3)
PR_CAPBSET_DROP = 24


@dataclass
class Ran:
    returncode: int  # negative: killed by that signal (the shell shows 128 + it)
    stdout: str
    stderr: str


def limits(fsize: int | None = None, unprivileged: bool = False, ignore: tuple[int, ...] = (),
           close: tuple[int, ...] = ()) -> Callable[[], None]:
    """What the child does before exec: limit memory (and file size), give up root's power over
    file modes, ignore signals, close standard descriptors."""
    def prepare() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (GiB, GiB))
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if unprivileged and os.geteuid() == 0:
            drop_mode_overrides()
        for sig in ignore:
            signal.signal(sig, signal.SIG_IGN)
        for fd in close:
            os.close(fd)
    return prepare


def drop_mode_overrides() -> None:
    """In a child about to exec as root: lose the capabilities that let root ignore file modes,
    so that a 0555 directory or another user's 0644 file is read-only to it as to anyone."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in OVERRIDE_CAPABILITIES:
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def modes_bind(directory) -> bool:
    """Whether a child run with unprivileged=True is refused a new file in the 0555 `directory`."""
    probe = os.path.join(directory, "probe")
    try:
        subprocess.run([sys.executable, "-c", f"open({probe!r}, 'w')"], preexec_fn=limits(unprivileged=True),
                       check=True, capture_output=True, timeout=TIMEOUT)
    except (subprocess.CalledProcessError, subprocess.SubprocessError, OSError):
        return True
    os.unlink(probe)
    return False


def command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "conv_cost", *args]


def environment(env: dict[str, str] | None) -> dict[str, str]:
    """The test's environment, with the conv_cost package the tests import first on the path."""
    import conv_cost

    package_root = os.path.dirname(os.path.dirname(os.path.abspath(conv_cost.__file__)))
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CONVCOST_DEBUG", "PYTHONIOENCODING")}
    return {**base, "PYTHONPATH": package_root, **(env or {})}


def convcost(args: list[str], cwd, *, stdin: bytes | str | int | None = b"", stdout: str | int = "pipe",
             env: dict[str, str] | None = None, fsize: int | None = None, unprivileged: bool = False,
             ignore: tuple[int, ...] = ()) -> Ran:
    """Run convcost to the end; stdin: bytes, a descriptor or CLOSED; stdout: "pipe", a descriptor or CLOSED.

    A traceback or an 'internal error' fails the calling test."""
    close = tuple(fd for fd, how in ((0, stdin), (1, stdout)) if how == CLOSED)
    p = subprocess.run(command(args), cwd=cwd, env=environment(env), timeout=TIMEOUT,
                       input=stdin if isinstance(stdin, bytes) else None,
                       stdin=None if isinstance(stdin, bytes) else (subprocess.DEVNULL if stdin == CLOSED else stdin),
                       stdout=subprocess.PIPE if stdout in ("pipe", CLOSED) else stdout, stderr=subprocess.PIPE,
                       preexec_fn=limits(fsize, unprivileged, ignore, close))
    out = (p.stdout or b"").decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "internal error" not in err, err
    return Ran(p.returncode, out, err)


def start(args: list[str], cwd, *, stdin=subprocess.PIPE, env: dict[str, str] | None = None,
          python_options: tuple[str, ...] = (), ignore: tuple[int, ...] = ()) -> subprocess.Popen:
    """Start convcost without waiting, for a test that sends it signals; stderr is a pipe."""
    return subprocess.Popen([sys.executable, *python_options, "-m", "conv_cost", *args], cwd=cwd,
                            env=environment(env), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=limits(ignore=ignore))
