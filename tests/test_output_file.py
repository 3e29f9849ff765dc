"""--output never destroys anything: the spec, devices, FIFOs, symlinks, modes, read-only files,
and no temporary file outlives the run, whatever signal ends it. Each case is a real process
with 1 GiB of address space and a time limit (tests/bounded.py)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from .bounded import NOBODY, TIMEOUT, convcost, modes_bind, start
from .conftest import SEED, run_cli

DEVICE_HINT = "to write to standard output, leave out --output (or give '-o -') and redirect it"


@pytest.fixture
def seed(tmp_path) -> Path:
    path = tmp_path / "seed.yaml"
    shutil.copy(SEED, path)
    return path


def listing(directory: Path) -> list[str]:
    """Every name in `directory`, hidden temporary files included."""
    return sorted(os.listdir(directory))


def error(path, what: str) -> str:
    return f"convcost: error: cannot write '{path}': {what}\n"


# ----------------------------------------------------------------------------- what is refused

@pytest.mark.parametrize("how", ["same path", "another path", "symlink", "hard link"])
def test_the_spec_itself_is_refused(tmp_path, seed, how):
    before = seed.read_text()
    out = {"same path": "seed.yaml", "another path": "./sub/../seed.yaml", "symlink": "link.yaml",
           "hard link": "hard.yaml"}[how]
    (tmp_path / "sub").mkdir()
    os.symlink("seed.yaml", tmp_path / "link.yaml")
    os.link(seed, tmp_path / "hard.yaml")
    ran = convcost(["report", "seed.yaml", "-o", out], tmp_path)
    assert (ran.returncode, ran.stdout) == (2, "")
    assert ran.stderr == error(out, "it is the SPEC 'seed.yaml', which would be lost; write the result to another file")
    assert seed.read_text() == before
    assert listing(tmp_path) == ["hard.yaml", "link.yaml", "seed.yaml", "sub"]


def test_standard_input_read_from_the_output_file_is_refused(tmp_path, seed):
    before = seed.read_text()
    with open(seed, "rb") as fh:
        ran = convcost(["report", "-", "-o", "seed.yaml"], tmp_path, stdin=fh.fileno())
    assert ran.returncode == 2
    assert ran.stderr == error("seed.yaml", "it is standard input, which would be lost; write the result to "
                                            "another file")
    assert seed.read_text() == before


def test_a_directory_is_refused(tmp_path, seed):
    (tmp_path / "out").mkdir()
    ran = convcost(["report", "seed.yaml", "-o", "out"], tmp_path)
    assert (ran.returncode, ran.stderr) == (2, error("out", "it is a directory; give a file name"))
    assert listing(tmp_path / "out") == []


def character_device(tmp_path: Path) -> str:
    """A character device to write to: a private copy of /dev/null where root may make one (so
    that even a broken convcost cannot replace the real one), else /dev/null itself."""
    if os.geteuid() != 0:
        return "/dev/null"
    path = tmp_path / "null"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:
        pytest.skip("cannot make a device node here")
    return str(path)


def test_a_device_is_refused_and_left_alone(tmp_path, seed):
    device = character_device(tmp_path)
    ran = convcost(["report", "seed.yaml", "-o", device], tmp_path)
    assert (ran.returncode, ran.stdout) == (2, "")
    assert ran.stderr == error(device, f"it is a character device, not a file; {DEVICE_HINT}")
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_standard_output_by_its_proc_name_is_refused_when_it_is_a_pipe(tmp_path, seed):
    # /dev/stdout is a symlink to /proc/self/fd/1; a copy of it keeps /dev itself out of harm's way.
    os.symlink("/proc/self/fd/1", tmp_path / "stdout")
    ran = convcost(["report", "seed.yaml", "-o", "stdout"], tmp_path)
    assert ran.returncode == 2
    assert ran.stderr == error("stdout", f"it is a pipe or FIFO, not a file; {DEVICE_HINT}")
    assert os.path.islink(tmp_path / "stdout")


@pytest.mark.parametrize("out", ["stdout", "log.txt"])
def test_the_file_standard_output_appends_to_is_refused(tmp_path, seed, out):
    # `convcost report s.yaml -o /dev/stdout >> log.txt` must not replace the log.
    os.symlink("/proc/self/fd/1", tmp_path / "stdout")
    log = tmp_path / "log.txt"
    log.write_text("earlier entries\n")
    with open(log, "ab") as appending:
        ran = convcost(["report", "seed.yaml", "-o", out], tmp_path, stdout=appending.fileno())
    assert ran.returncode == 2
    assert ran.stderr == error(out, "it is standard output, a file open for appending or writing already; "
                                    "give '-o -' or leave out --output")
    assert log.read_text() == "earlier entries\n"


def test_a_fifo_is_refused_and_left_alone(tmp_path, seed):
    os.mkfifo(tmp_path / "fifo")
    ran = convcost(["report", "seed.yaml", "-o", "fifo"], tmp_path)
    assert ran.returncode == 2
    assert ran.stderr == error("fifo", f"it is a pipe or FIFO, not a file; {DEVICE_HINT}")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o000])
def test_a_read_only_file_is_refused_even_for_root(tmp_path, seed, mode):
    out = tmp_path / "r.md"
    out.write_text("kept")
    out.chmod(mode)
    ran = convcost(["report", "seed.yaml", "-o", "r.md"], tmp_path)
    assert ran.returncode == 2
    assert ran.stderr == error("r.md", "the file is read-only; make it writable (chmod u+w) or give another file")
    assert out.stat().st_mode & 0o777 == mode
    out.chmod(0o600)
    assert out.read_text() == "kept"


@pytest.mark.parametrize("out", ["", "newdir/"])
def test_a_path_that_names_no_file_is_refused(tmp_path, seed, out):
    ran = convcost(["report", "seed.yaml", "-o", out], tmp_path)
    assert (ran.returncode, ran.stderr) == (2, error(out, "give a file name"))
    assert listing(tmp_path) == ["seed.yaml"]


def test_a_path_in_a_missing_directory_is_refused(tmp_path, seed):
    ran = convcost(["report", "seed.yaml", "-o", "no/such/x.md"], tmp_path)
    assert (ran.returncode, ran.stderr) == (2, error("no/such/x.md", "No such file or directory"))


# ----------------------------------------------------------------------------- before any work

@pytest.mark.parametrize("out", ["no/such/x.json", "dir", "fifo", "ro.json"])
def test_a_bad_output_is_reported_before_the_spec_is_even_read(tmp_path, out):
    # Standard input stays open and empty: a convcost that read it first would wait to the timeout.
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "ro.json").write_text("{}")
    (tmp_path / "ro.json").chmod(0o444)
    p = start(["report", "-", "-o", out], tmp_path)
    try:
        _, err = p.communicate(timeout=TIMEOUT)
    finally:
        p.kill()
    assert p.returncode == 2
    assert err.decode().startswith(f"convcost: error: cannot write '{out}': ")


def test_a_bad_output_wins_over_an_invalid_spec(tmp_path):
    (tmp_path / "bad.yaml").write_text("input: [8, 8, 3]\nlayers: [{type: bogus}]\n")
    ran = convcost(["report", "bad.yaml", "-o", "no/such/x.md"], tmp_path)
    assert (ran.returncode, ran.stderr) == (2, error("no/such/x.md", "No such file or directory"))


# ----------------------------------------------------------------------------- what is kept

def test_a_symlink_is_followed_its_target_replaced_and_the_link_kept(tmp_path, seed):
    (tmp_path / "handouts").mkdir()
    target = tmp_path / "handouts" / "report.md"
    target.write_text("old")
    os.symlink("handouts/report.md", tmp_path / "latest.md")
    ran = convcost(["report", "seed.yaml", "-o", "latest.md"], tmp_path)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert os.readlink(tmp_path / "latest.md") == "handouts/report.md"
    assert target.read_text().startswith("# naive\n")
    assert listing(tmp_path / "handouts") == ["report.md"]


def test_a_dangling_symlink_gets_its_target_made(tmp_path, seed):
    os.symlink("made.csv", tmp_path / "link.csv")
    ran = convcost(["report", "seed.yaml", "-o", "link.csv"], tmp_path)
    assert ran.returncode == 0
    assert os.path.islink(tmp_path / "link.csv")
    assert (tmp_path / "made.csv").read_text().startswith("row,model,layer")


@pytest.mark.parametrize("mode", [0o600, 0o604])
def test_the_existing_file_keeps_its_mode(tmp_path, seed, mode):
    out = tmp_path / "r.csv"
    out.write_text("old")
    out.chmod(mode)
    assert convcost(["report", "seed.yaml", "-o", "r.csv"], tmp_path).returncode == 0
    assert out.stat().st_mode & 0o7777 == mode
    assert out.read_text().startswith("row,")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_root_keeps_the_existing_files_owner(tmp_path, seed):
    out = tmp_path / "r.csv"
    out.write_text("old")
    os.chown(out, NOBODY, NOBODY)
    assert convcost(["report", "seed.yaml", "-o", "r.csv"], tmp_path).returncode == 0
    assert (out.stat().st_uid, out.stat().st_gid) == (NOBODY, NOBODY)
    assert out.read_text().startswith("row,")


@pytest.fixture
def shared_dir(tmp_path):
    """A directory that takes no new file from convcost run with unprivileged=True (as root,
    convcost then runs without the capabilities that ignore file modes)."""
    path = tmp_path / "shared"
    path.mkdir()
    shutil.copy(SEED, path / "seed.yaml")
    path.chmod(0o555)
    if not modes_bind(path):
        path.chmod(0o755)
        pytest.skip("file modes do not bind convcost here")
    yield path
    path.chmod(0o755)


def test_a_writable_file_in_a_read_only_directory_is_written_in_place(shared_dir):
    out = shared_dir / "world.md"
    shared_dir.chmod(0o755)
    out.write_text("old text, longer than nothing at all")
    out.chmod(0o666)
    shared_dir.chmod(0o555)
    inode = out.stat().st_ino
    ran = convcost(["report", "seed.yaml", "-o", "world.md"], shared_dir, unprivileged=True)
    assert (ran.returncode, ran.stderr) == (0, "")
    assert out.read_text() == run_cli(["report", str(SEED), "--format", "markdown"]).stdout
    assert out.stat().st_ino == inode
    assert listing(shared_dir) == ["seed.yaml", "world.md"]


def test_a_write_only_file_in_a_read_only_directory_is_written_in_place(shared_dir):
    out = shared_dir / "drop.md"
    shared_dir.chmod(0o755)
    out.write_text("old")
    out.chmod(0o222)  # writable, not readable
    shared_dir.chmod(0o555)
    ran = convcost(["report", "seed.yaml", "-o", "drop.md"], shared_dir, unprivileged=True)
    assert (ran.returncode, ran.stderr) == (0, "")
    out.chmod(0o644)
    assert out.read_text().startswith("# naive\n")


def test_a_new_file_in_a_read_only_directory_is_refused_before_any_work(shared_dir):
    ran = convcost(["report", "seed.yaml", "-o", "new.md"], shared_dir, unprivileged=True)
    assert (ran.returncode, ran.stderr) == (2, error("new.md", "Permission denied"))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a second user")
def test_another_users_file_is_refused(shared_dir):
    shared_dir.chmod(0o777)  # the directory would let a rename replace the file: `>` would not
    out = shared_dir / "theirs.md"
    out.write_text("theirs")
    out.chmod(0o644)
    os.chown(out, NOBODY, NOBODY)
    ran = convcost(["report", "seed.yaml", "-o", "theirs.md"], shared_dir, unprivileged=True)
    assert ran.returncode == 2
    assert ran.stderr == error("theirs.md", "permission denied; give a file you may write")
    assert out.read_text() == "theirs"


# ----------------------------------------------------------------------------- failures on the way

def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path, seed):
    out = tmp_path / "r.html"
    out.write_text("the previous handout")
    # A file size limit of 4 KiB: the handout (some 30 KB) stops with EFBIG part way through.
    ran = convcost(["report", "seed.yaml", "-o", "r.html"], tmp_path, fsize=4096)
    assert ran.returncode == 74
    assert ran.stderr == error("r.html", "File too large; it is left as it was")
    assert out.read_text() == "the previous handout"
    assert listing(tmp_path) == ["r.html", "seed.yaml"]


def test_a_new_file_that_fails_midway_is_not_made(tmp_path, seed):
    ran = convcost(["report", "seed.yaml", "-o", "r.html"], tmp_path, fsize=4096)
    assert ran.returncode == 74
    assert ran.stderr == error("r.html", "File too large; no file was made")
    assert listing(tmp_path) == ["seed.yaml"]


LONG_SPEC = ("input: [8, 8, 8]\nlayers:\n"
             "  - {type: repeat, name: r, times: 20000, body: [{type: conv, filters: 8, kernel: 3}, {type: relu}]}\n")


def temporary_files(directory: Path) -> list[str]:
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_while_the_file_is_written_leaves_no_temporary_file(tmp_path, sig):
    # A 14 MB explanation takes some 40 ms to write: wait for its temporary file to fill, then signal.
    (tmp_path / "long.yaml").write_text(LONG_SPEC)
    out = tmp_path / "out.md"
    for attempt in range(5):
        out.write_text("the previous handout")
        p = start(["explain", "long.yaml", "-o", "out.md"], tmp_path)
        hit = False
        deadline = time.monotonic() + TIMEOUT
        while p.poll() is None and time.monotonic() < deadline:
            names = temporary_files(tmp_path)
            try:
                writing = bool(names) and os.path.getsize(tmp_path / names[0]) > 0  # not the start-up check
            except OSError:
                writing = False
            if writing:
                p.send_signal(sig)
                hit = True
                break
            time.sleep(0.0005)
        _, err = p.communicate(timeout=TIMEOUT)
        assert temporary_files(tmp_path) == []
        assert b"Traceback" not in err
        if hit and out.read_text() == "the previous handout":
            assert p.returncode == 128 + sig  # 130, 143, 129: the status a shell shows for a signal
            assert err == (b"convcost: interrupted\n" if sig == signal.SIGINT else b"")
            return
        assert out.read_text().startswith("# long\n")  # the rename came first: the whole new file
    pytest.fail("the signal never arrived while the file was being written")


# ----------------------------------------------------------------------------- '-' and formats

def test_dash_is_standard_output(tmp_path, seed):
    ran = convcost(["report", "seed.yaml", "-o", "-"], tmp_path)
    assert ran.returncode == 0
    assert ran.stdout == run_cli(["report", str(SEED)]).stdout
    assert listing(tmp_path) == ["seed.yaml"]


def test_a_handout_named_html_is_html(tmp_path, seed):
    # `-o handout.html` without --format used to write the box-drawing table.
    ran = convcost(["report", "seed.yaml", "-o", "handout.html"], tmp_path)
    assert ran.returncode == 0
    assert (tmp_path / "handout.html").read_text() == run_cli(["report", "seed.yaml", "--format", "html"],
                                                                cwd=tmp_path).stdout


@pytest.mark.parametrize("name, fmt", [("H.HTM", "html"), ("r.json", "json"), ("r.md", "markdown"),
                                       ("r.markdown", "markdown"), ("r.csv", "csv"), ("r.txt", "table"),
                                       ("r.out", "table"), ("report", "table")])
@pytest.mark.parametrize("command", ["report", "compare", "explain"])
def test_the_extension_picks_the_format(tmp_path, seed, command, name, fmt):
    assert run_cli([command, "seed.yaml", "-o", name], cwd=tmp_path).exit_code == 0
    assert (tmp_path / name).read_text() == run_cli([command, "seed.yaml", "--format", fmt], cwd=tmp_path).stdout


@pytest.mark.parametrize("option", [["--format", "table"], ["-f", "csv"], ["--json"]])
def test_an_explicit_format_wins_over_the_extension(tmp_path, seed, option):
    assert run_cli(["report", "seed.yaml", "-o", "h.html", *option], cwd=tmp_path).exit_code == 0
    assert (tmp_path / "h.html").read_text() == run_cli(["report", "seed.yaml", *option], cwd=tmp_path).stdout


def test_every_extension_names_a_registered_format():
    from conv_cost.render import EXTENSIONS, FORMATS

    assert set(EXTENSIONS.values()) <= set(FORMATS)
    assert all(ext.startswith(".") and ext == ext.lower() for ext in EXTENSIONS)


@pytest.mark.parametrize("command", ["report", "compare", "explain"])
def test_every_command_checks_the_output_first(tmp_path, command):
    result = run_cli([command, str(tmp_path / "missing.yaml"), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == error(tmp_path, "it is a directory; give a file name")


# ----------------------------------------------------------------------------- the machinery, in process

class InterruptedText(str):
    """A result whose third chunk is never reached: Ctrl-C arrives while the file is written."""

    def __getitem__(self, index):
        if isinstance(index, slice) and index.start >= 2 * self.chunk:
            raise KeyboardInterrupt
        return str.__getitem__(self, index)


def test_an_interrupted_write_removes_its_temporary_file(tmp_path, monkeypatch):
    from conv_cost import output

    monkeypatch.setattr(output, "CHUNK", 10)
    out = tmp_path / "r.txt"
    out.write_text("old")
    target = output.prepare_output(str(out))
    text = InterruptedText("x" * 100)
    text.chunk = 10
    with pytest.raises(KeyboardInterrupt):
        output.write_output(target, text)
    assert listing(tmp_path) == ["r.txt"]
    assert out.read_text() == "old"


def test_cleanup_signals_are_held_back_and_then_delivered():
    from conv_cost.output import signals_held

    caught = []
    old = signal.signal(signal.SIGHUP, lambda signum, frame: caught.append(signum))
    try:
        with signals_held():
            # To this thread: the mask is per thread, and torch's worker threads would take a process signal.
            signal.pthread_kill(threading.main_thread().ident, signal.SIGHUP)
            time.sleep(0.01)
            assert caught == []
        time.sleep(0.01)
        assert caught == [signal.SIGHUP]
    finally:
        signal.signal(signal.SIGHUP, old)


def test_prepare_output_for_standard_output(monkeypatch):
    from conv_cost.output import OutputError, prepare_output

    assert prepare_output(None).to_stdout and prepare_output("-").to_stdout
    monkeypatch.setattr("sys.stdout", None)
    with pytest.raises(OutputError) as exc:
        prepare_output("-")
    assert exc.value.status == 74


def test_another_users_writable_file_is_written_in_place_keeping_its_owner(tmp_path, monkeypatch):
    # A rename would give the file to whoever runs convcost (and fails in a sticky /tmp): an
    # editor writes such a file in place, and so does convcost.
    from conv_cost import output

    out = tmp_path / "shared.md"
    out.write_text("a longer old text than the new one would need to be")
    monkeypatch.setattr(output.os, "geteuid", lambda: out.stat().st_uid + 1000)
    target = output.prepare_output(str(out))
    assert target.in_place
    inode = out.stat().st_ino
    output.write_output(target, "new")
    assert (out.read_text(), out.stat().st_ino) == ("new", inode)
    assert listing(tmp_path) == ["shared.md"]

