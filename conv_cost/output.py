"""Where a result goes, safely: standard output or an --output file, and the process's signals.

An --output path is checked before anything is computed (and an existing file is never
replaced by a half-written one); writing to standard output turns each fault of the
environment into one line and a documented exit status. The choices are in docs/limits.md.
"""

from __future__ import annotations

import codecs
import errno
import os
import signal
import stat
import sys
from contextlib import contextmanager
from typing import Iterator, Sequence

from .records import record
from .text import inert

EXIT_USAGE = 2
EXIT_IO = 74  # EX_IOERR of sysexits.h: reading or writing failed (closed stream, full disk)
DASH = "-"  # standard output as --output, standard input as a SPEC
CHUNK = 1 << 20  # characters encoded and written at a time: a 200 MB result is not copied whole

# Signals that end the process: before it ends, a temporary output file is removed.
CLEANUP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
SIGPIPE = getattr(signal, "SIGPIPE", 13)


class OutputError(Exception):
    """The result cannot be written; `status` is the exit status (2 usage, 74 input/output)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class SignalExit(BaseException):
    """End the process as if killed by `signum`, once everything on the way out is cleaned up.

    A BaseException, so that no `except Exception` (nor typer) takes it for an error."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# ----------------------------------------------------------------------------- --output files

@record
class OutputTarget:
    """Where the result goes: standard output (path None) or the file `real` (symlinks resolved).

    `mode` and `owner` are the existing file's, kept by the new one; `in_place` when the file's
    directory cannot take a new file but the file itself can be written (as `>` would)."""

    path: str | None
    real: str = ""
    mode: int | None = None
    owner: tuple[int, int] | None = None
    in_place: bool = False

    @property
    def to_stdout(self) -> bool:
        return self.path is None


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words; None for a regular file."""
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a pipe or FIFO"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return None if stat.S_ISREG(mode) else "a special file"


def _same_input(out: os.stat_result, inputs: Sequence[str]) -> str | None:
    """The SPEC argument that is the file `out` (by device and inode, so links count), if any."""
    for arg in inputs:
        try:
            if arg == DASH:
                if sys.stdin is None:
                    continue
                st = os.fstat(sys.stdin.fileno())
            else:
                st = os.stat(arg)
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            return arg
    return None


def _standard_stream(out: os.stat_result) -> str | None:
    """'standard output' or 'standard error' when `out` is the file one of them writes to."""
    for fd, name in ((1, "standard output"), (2, "standard error")):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            return name
    return None


def prepare_output(path: str | None, inputs: Sequence[str] = ()) -> OutputTarget:
    """Check before computing that the result can go to `path` ('-' or None: standard output).

    Refused (OutputError, status 2): a directory, device, FIFO or socket; one of the `inputs`;
    a read-only file; a path where no file can be created. A symlink is followed: its target
    is replaced, the link stays."""
    if path is None or path == DASH:
        if sys.stdout is None:
            raise OutputError("cannot write the result: standard output is closed; "
                              "give --output FILE or run with standard output open", EXIT_IO)
        return OutputTarget(None)
    shown = inert(path)
    if not path or path.endswith(os.sep):
        raise OutputError(f"cannot write '{shown}': give a file name", EXIT_USAGE)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write '{shown}': {exc.strerror}", EXIT_USAGE) from None
    if st is not None:
        kind = _kind(st.st_mode)
        if kind == "a directory":
            raise OutputError(f"cannot write '{shown}': it is a directory; give a file name", EXIT_USAGE)
        if kind is not None:
            raise OutputError(f"cannot write '{shown}': it is {kind}, not a file; to write to standard output, "
                              "leave out --output (or give '-o -') and redirect it", EXIT_USAGE)
        stream = _standard_stream(st)
        if stream is not None:
            # `-o /dev/stdout >> log` would replace the log it appends to.
            raise OutputError(f"cannot write '{shown}': it is {stream}, a file open for appending or writing "
                              "already; give '-o -' or leave out --output", EXIT_USAGE)
        spec = _same_input(st, inputs)
        if spec is not None:
            what = "standard input" if spec == DASH else f"the SPEC '{inert(spec)}'"
            raise OutputError(f"cannot write '{shown}': it is {what}, which would be lost; "
                              "write the result to another file", EXIT_USAGE)
        # Root may write anything: a file without any write permission was made read-only on purpose.
        if not st.st_mode & 0o222:
            raise OutputError(f"cannot write '{shown}': the file is read-only; make it writable (chmod u+w) "
                              "or give another file", EXIT_USAGE)
        if not os.access(path, os.W_OK):
            raise OutputError(f"cannot write '{shown}': permission denied; give a file you may write", EXIT_USAGE)
    real = os.path.realpath(path)  # a symlink's target, created if it does not exist yet
    # As an editor does: replace the file by a new one only where the new one can keep its owner.
    # Another user's file (group-writable, or world-writable in a sticky /tmp where a rename
    # would fail) is written in place, as `>` would write it.
    in_place = st is not None and os.geteuid() not in (0, st.st_uid)
    if not in_place:
        try:
            _probe_directory(os.path.dirname(real) or ".", os.path.basename(real))
        except OSError as exc:
            if st is None or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise OutputError(f"cannot write '{shown}': {exc.strerror}", EXIT_USAGE) from None
            in_place = True  # the directory takes no new file, but the file itself may be writable
    if in_place:
        try:
            os.close(os.open(real, os.O_WRONLY))
        except OSError as exc:
            raise OutputError(f"cannot write '{shown}': {exc.strerror}", EXIT_USAGE) from None
    if st is None:
        return OutputTarget(path, real, in_place=in_place)
    return OutputTarget(path, real, stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid), in_place)


def _probe_directory(directory: str, name: str) -> None:
    """Create and remove a temporary file in `directory`: an OSError says no file can be made there."""
    import tempfile

    with signals_held():
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
        os.close(fd)
        os.unlink(tmp)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask  # what open() would give; mkstemp makes the file private


def write_output(target: OutputTarget, text: str) -> None:
    """Write the whole result: to standard output, or to the file through a temporary file in
    the same directory renamed over it, so the file is either the old one or the whole new one."""
    if target.to_stdout:
        write_stdout(text)
    elif target.in_place:
        _write_in_place(target, text)
    else:
        _write_replacing(target, text)


def _write_replacing(target: OutputTarget, text: str) -> None:
    import tempfile

    directory, name = os.path.split(target.real)
    tmp = None
    try:
        # Created with the cleanup signals held back: once they can arrive, `tmp` names the file.
        with signals_held():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory or ".")
        with open(fd, "wb") as fh:
            _keep_mode_and_owner(fh.fileno(), target)
            for start in range(0, len(text), CHUNK):
                fh.write(text[start:start + CHUNK].encode("utf-8", "backslashreplace"))
        os.replace(tmp, target.real)
        tmp = None
    except OSError as exc:
        kept = "it is left as it was" if target.mode is not None else "no file was made"
        raise OutputError(f"cannot write '{inert(target.path or '')}': {exc.strerror or exc}; {kept}",
                          EXIT_IO) from None
    finally:
        # Also on SignalExit and KeyboardInterrupt: no hidden temporary file is left behind.
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _keep_mode_and_owner(fd: int, target: OutputTarget) -> None:
    if target.owner is not None and target.owner != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, *target.owner)  # root's own; for a user, the file's group if the user is in it
        except PermissionError:
            pass
    # After chown, which clears the set-user-ID and set-group-ID bits.
    os.fchmod(fd, _new_file_mode() if target.mode is None else target.mode)


def _write_in_place(target: OutputTarget, text: str) -> None:
    """Overwrite the file itself (another user's, or in a directory that takes no new file): not atomic,
    as `>` is not."""
    try:
        # O_WRONLY: a file may be writable without being readable; it is cut to length once written.
        with open(os.open(target.real, os.O_WRONLY), "wb") as fh:
            for start in range(0, len(text), CHUNK):
                fh.write(text[start:start + CHUNK].encode("utf-8", "backslashreplace"))
            fh.truncate()
    except OSError as exc:
        raise OutputError(f"cannot write '{inert(target.path or '')}': {exc.strerror or exc}", EXIT_IO) from None


# ----------------------------------------------------------------------------- standard streams

def write_stdout(text: str) -> None:
    """Write `text` to standard output and flush it; OutputError (status 74) when it is closed,
    full or cannot encode the text, SignalExit(SIGPIPE) when the reader has gone."""
    stream = sys.stdout
    if stream is None:
        raise OutputError("cannot write the result: standard output is closed", EXIT_IO)
    encoding = getattr(stream, "encoding", None) or "utf-8"
    utf8 = _is_utf8(encoding)
    if not utf8:
        # Checked whole before the first byte goes out: no half table followed by an error.
        try:
            text.encode(encoding)
        except UnicodeEncodeError as exc:
            char = exc.object[exc.start]
            raise OutputError(f"standard output's encoding ({encoding}) cannot write '{inert(char)}' "
                              f"(U+{ord(char):04X}); use a UTF-8 locale (LC_ALL=C.UTF-8) or "
                              "PYTHONIOENCODING=utf-8, or write a file with --output", EXIT_IO) from None
        except LookupError:
            utf8 = True
    binary = getattr(stream, "buffer", None)
    try:
        if binary is None:
            stream.write(text)
        else:
            stream.flush()
            # Incremental: a codec with a byte order mark (utf-16) writes it once, not once per chunk.
            codec, errors = ("utf-8", "backslashreplace") if utf8 else (encoding, "strict")
            encoder = codecs.getincrementalencoder(codec)(errors)
            for start in range(0, len(text), CHUNK):
                binary.write(encoder.encode(text[start:start + CHUNK], start + CHUNK >= len(text)))
        stream.flush()
    except BrokenPipeError:
        _silence_stdout()
        raise SignalExit(SIGPIPE) from None
    except OSError as exc:
        _silence_stdout()
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}", EXIT_IO) from None
    except ValueError:  # "I/O operation on closed file"
        raise OutputError("cannot write the result: standard output is closed", EXIT_IO) from None


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return True


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that what is still buffered cannot fail again when
    the interpreter flushes it on the way out."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def write_stderr(text: str) -> None:
    """Write a message to standard error; never fails (a message that cannot be shown is lost,
    the exit status still tells)."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass


# ----------------------------------------------------------------------------- signals

def _on_signal(signum: int, frame) -> None:
    # Further signals are ignored from here on: the way out (removing a temporary file) is short
    # and must not itself be interrupted.
    for sig in CLEANUP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise SignalExit(signum)


def catch_signals() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into SignalExit, so the program unwinds (and removes its
    temporary file) before it ends. A signal ignored when the program started (nohup, a
    background job) stays ignored."""
    for sig in CLEANUP_SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _on_signal)


def release_signals() -> None:
    """Back to the default actions for the signals catch_signals took."""
    for sig in CLEANUP_SIGNALS:
        if signal.getsignal(sig) is _on_signal:
            signal.signal(sig, signal.SIG_DFL)


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold back the cleanup signals for a few statements; one that arrives meanwhile is delivered after."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, CLEANUP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def end_by_signal(signum: int) -> None:
    """End the process, once cleaned up, with exit status 128 + signum: 130 for Ctrl-C, 143 for
    SIGTERM, 129 for SIGHUP, what a shell shows for a process a signal ended, and the same number
    to a program that runs convcost and reads its exit status."""
    for sig in CLEANUP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    if signum == signal.SIGINT:
        write_stderr("convcost: interrupted\n")
    try:
        sys.stdout.flush() if sys.stdout is not None else None
    except (OSError, ValueError):
        pass
    os._exit(128 + signum)
