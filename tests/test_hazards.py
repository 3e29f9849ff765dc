"""One test per hostile input: exit 1, the exact message, and bounded time and memory.

Each case runs `python -m conv_cost check` in a subprocess whose address space is limited to
1 GiB (RLIMIT_AS) and with a timeout, as a user's shell would run it; a MemoryError or a
hang fails the test, and so does any traceback or 'internal error'.
"""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest
import yaml

from conv_cost.errors import MAX_PROBLEMS
from conv_cost.spec import parse_spec
from conv_cost.errors import SpecError

from .conftest import run_cli

GiB = 1024**3
TIMEOUT = 60  # seconds; every case takes well under one on a laptop
LIMIT_MSG = "reduce 'times' in repeats or the uses of templates and aliases, or raise --max-layers"
DEEP_MSG = "the spec is nested more than 100 levels deep here; flatten it (a template under 'blocks:' or a repeat " \
           "avoids deep nesting)"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GiB, GiB))


def run_bounded(args: list[str], cwd, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run convcost with at most 1 GiB of address space and TIMEOUT seconds."""
    p = subprocess.run([sys.executable, "-m", "conv_cost", *args], cwd=cwd, input=stdin, capture_output=True,
                       timeout=TIMEOUT, preexec_fn=_limit_memory)
    out, err = p.stdout.decode(), p.stderr.decode()
    assert "Traceback" not in err and "internal error" not in err, err
    return p.returncode, out, err


def residual_bomb(levels: int) -> str:
    """Nested residual bodies shared by aliases: 10**levels layers in a dozen lines."""
    lines = ["input: [8, 8, 3]", "layers:",
             "  - {type: residual, name: b1, body: &l1 [" + ", ".join(["{type: relu}"] * 10) + "]}"]
    for k in range(2, levels + 1):
        lines.append(f"  - {{type: residual, name: b{k}, body: &l{k} ["
                     + ", ".join([f"{{type: residual, body: *l{k - 1}}}"] * 10) + "]}")
    return "\n".join(lines) + "\n"


def template_bomb(levels: int, leaf: str) -> str:
    """Templates using the one below ten times: 10**levels copies of `leaf`."""
    lines = ["input: [8, 8, 3]", "blocks:", f"  t0: {{layers: [{leaf}]}}"]
    for k in range(1, levels + 1):
        lines.append(f"  t{k}: {{layers: [" + ", ".join([f"{{type: t{k - 1}}}"] * 10) + "]}")
    lines.append(f"layers: [{{type: t{levels}}}]")
    return "\n".join(lines) + "\n"


def template_chain(depth: int) -> str:
    """Templates each using the one below once, with one-letter names: deep nesting, shallow YAML."""
    lines = ["input: [8, 8, 3]", "blocks:", "  c0: {layers: [{type: relu, name: r}]}"]
    lines += [f"  c{k}: {{layers: [{{type: c{k - 1}, name: x}}]}}" for k in range(1, depth + 1)]
    lines.append(f"layers: [{{type: c{depth}, name: x}}]")
    return "\n".join(lines) + "\n"


def squaring_templates(levels: int) -> str:
    lines = ["input: [8, 8, 3]", "blocks:", '  s0: {params: {p: null}, layers: [{type: conv, filters: "${p}", kernel: 1}]}']
    lines += [f'  s{k}: {{params: {{p: null}}, layers: [{{type: s{k - 1}, p: "${{p * p}}"}}]}}'
              for k in range(1, levels + 1)]
    lines.append(f"layers: [{{type: s{levels}, p: 3}}]")
    return "\n".join(lines) + "\n"


# name: (file content, extra arguments, expected stderr lines with t.yaml as the file)
HAZARDS = {
    "alias bomb through layer lists": (
        residual_bomb(9), [],
        [f"t.yaml:3:3: error: 'layers' expands to more than 1,000,000 layers; {LIMIT_MSG}"]),
    "alias bomb with a lower --max-layers": (
        residual_bomb(3), ["--max-layers", "1000"],
        [f"t.yaml:3:3: error: 'layers' expands to more than 1,000 layers; {LIMIT_MSG}"]),
    "alias bomb at the top level": (
        "a0: &a0 [x]\n" + "".join(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]\n" for k in range(1, 10))
        + "input: [8, 8, 3]\nlayers: [{type: relu}]\n", [],
        [f"t.yaml:{k + 1}:1: error: unknown key 'a{k}' in the spec; allowed keys: name, description, input, layers, "
         "models, blocks" for k in range(10)]),
    "models repeated by alias": (
        "input: [8, 8, 3]\nmodels:\n  - &m {layers: [{type: repeat, times: 600, body: [{type: relu}]}]}\n"
        "  - *m\n  - *m\n", ["--max-layers", "1500"],
        ["t.yaml:3:17: error: 'layers' expands to more than 1,500 layers with the models before it; " + LIMIT_MSG]),
    "template bomb": (
        template_bomb(9, "{type: relu}"), [],
        [f"t.yaml:13:9: error: 'layers' expands to more than 1,000,000 layers; {LIMIT_MSG}"]),
    "template bomb of broken layers": (
        template_bomb(9, "{type: bogus}"), [],
        ["t.yaml:3:24: error: unknown layer type 'bogus'; see the layer table in the README "
         "(in template 't9' used at line 13)",
         "t.yaml: note: reading stopped after 200 problems; fix these and run again"]),
    "repeat past the default limit": (
        "input: [8, 8, 3]\nlayers:\n  - {type: repeat, name: r, times: 2000000, body: [{type: relu}]}\n", [],
        [f"t.yaml:3:5: error: block 'r' (repeat) expands to more than 1,000,000 layers (2,000,000 times a body of "
         f"at least 1 layer); {LIMIT_MSG}"]),
    "repeat of 10**17": (
        "input: [8, 8, 3]\nlayers:\n  - {type: repeat, name: r, times: 100000000000000000, body: [{type: relu}]}\n",
        [], [f"t.yaml:3:5: error: block 'r' (repeat) expands to more than 1,000,000 layers (100,000,000,000,000,000 "
             f"times a body of at least 1 layer); {LIMIT_MSG}"]),
    "nested repeats": (
        "input: [8, 8, 3]\nlayers:\n  - type: repeat\n    name: r\n    times: 1000\n    body:\n"
        "      - {type: repeat, times: 1000, body: [{type: repeat, times: 1000, body: [{type: relu}]}]}\n", [],
        [f"t.yaml:3:5: error: block 'r' (repeat) expands to more than 1,000,000 layers (1,000 times a body of at "
         f"least 1,000,000 layers); {LIMIT_MSG}"]),
    "repeat of a template whose size hides in a parameter": (
        'input: [8, 8, 3]\nblocks:\n  inner: {params: {n: null}, layers: [{type: repeat, times: "${n}", '
        "body: [{type: relu}]}]}\nlayers:\n  - {type: repeat, name: r, times: 3000, body: [{type: inner, n: 1000}]}\n",
        [], [f"t.yaml:5:5: error: block 'r' (repeat) expands to more than 1,000,000 layers (3,000 times a body of "
             f"1,000 layers); {LIMIT_MSG}"]),
    "template using itself directly": (
        "input: [8, 8, 3]\nblocks:\n  a: {layers: [{type: a}]}\nlayers: [{type: a}]\n", [],
        ["t.yaml:3:16: error: template 'a' uses itself (a -> a); a template cannot contain itself "
         "(in template 'a' used at line 4)"]),
    "template using itself through another, in a repeat": (
        "input: [8, 8, 3]\nblocks:\n  a: {layers: [{type: repeat, times: 1000000, body: [{type: b}]}]}\n"
        "  b: {layers: [{type: relu}, {type: a}]}\nlayers: [{type: a}]\n", [],
        ["t.yaml:4:30: error: template 'a' uses itself (a -> b -> a); a template cannot contain itself "
         "(in template 'a' used at line 5)"]),
    "empty template in a huge repeat": (
        "input: [8, 8, 3]\nblocks:\n  e: {layers: []}\n"
        "layers: [{type: repeat, times: 100000000000000000, body: [{type: e}]}]\n", [],
        ["t.yaml:3:15: error: template 'e' has an empty 'layers' list; add its layers"]),
    "deep flow nesting (libyaml's limit)": (
        "[" * 100_000 + "]" * 100_000 + "\n", [], [f"t.yaml:1:1001: error: {DEEP_MSG}"]),
    "deep flow nesting (convcost's limit)": (
        "input: [8, 8, 3]\nlayers: " + "[" * 150 + "]" * 150 + "\n", [],
        ["t.yaml:2:10: error: each layer (like {type: conv, filters: 16, kernel: 1}) must be a mapping, got a list",
         f"t.yaml:2:108: error: {DEEP_MSG}"]),
    "deep block nesting": (
        # Two YAML levels per residual, one-letter names so the paths stay short.
        "input: [8, 8, 3]\nlayers:\n" + "".join("  " * k + "- type: residual\n" + "  " * k + "  name: r\n"
                                               + "  " * k + "  body:\n" for k in range(1, 80))
        + "  " * 80 + "- {type: relu}\n", [],
        [f"t.yaml:150:103: error: {DEEP_MSG}"]),
    "templates nested deeper than 50": (
        template_chain(60), [],
        ["t.yaml:14:17: error: blocks and templates are nested more than 50 deep here; flatten the structure "
         "(in template 'c60' used at line 64)"]),
    "parentheses nested deeper than 50": (
        'input: [8, 8, 3]\nblocks:\n  t: {params: {c: 1}, layers: [{type: conv, kernel: 1, filters: "${'
        + "(" * 3000 + "c" + ")" * 3000 + '}"}]}\nlayers: [{type: t}]\n', [],
        ["t.yaml:3:65: error: in '${" + "(" * 55 + "...': '" + "(" * 57 + "...' nests parentheses or signs more than 50 deep "
         "(in template 't' used at line 4)"]),
    "squaring templates": (
        squaring_templates(40), [],
        ["t.yaml:38:52: error: in '${p * p}': 'p * p' is too large (10^18 or more) (in template 's40' used at "
         "line 44)"]),
    "integer of 5000 digits": (
        "input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: " + "9" * 5000 + ", kernel: 1}\n", [],
        ["t.yaml:3:27: error: integer '999999999999999999999999999...' is too large; integers have at most "
         "18 digits"]),
    "tensor growing without bound": (
        "input: [8, 8, 3]\nlayers:\n  - {type: repeat, name: r, times: 100000, body: [{type: dwconv, kernel: 1, "
        "multiplier: 2}]}\n", [],
        # 3 * 2**53 channels is the first to pass 10**18 / 64 elements per channel.
        [f"t.yaml:3:51: error: layer 'r/53/dwconv1': output 8x8x{3 * 2**53} has 10^18 elements or more; check the "
         "sizes and multipliers"]),
    "input of 10**18 elements": (
        "input: [1000000, 1000000, 1000000]\nlayers: [{type: relu}]\n", [],
        ["t.yaml:1:8: error: input 1000000x1000000x1000000 has 10^18 elements or more; no network needs so large "
         "an input"]),
    "a long name repeated": (
        "input: [8, 8, 3]\nlayers:\n  - {type: repeat, name: " + "x" * 5000 + ", times: 100000, "
        "body: [{type: relu}]}\n", [],
        ["t.yaml:3:26: error: layer path 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is 5,000 "
         "characters long (at most 256); use shorter names or less nesting"]),
    "a string of 20,000 characters": (
        "input: [8, 8, 3]\ndescription: " + "d" * 20_000 + "\nlayers: [{type: relu}]\n", [],
        ["t.yaml:2:14: error: a string of 20,000 characters is too long; strings have at most 10,000"]),
    "text substitution building a long string": (
        "input: [8, 8, 3]\nblocks:\n  t: {params: {c: " + "y" * 9000 + "}, layers: [{type: relu, name: \""
        + "${c}" * 1000 + "\"}]}\nlayers: [{type: t}]\n", [],
        ["t.yaml:3:9050: error: in '${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}$...': the text would "
         "be longer than 10,000 characters (in template 't' used at line 4)"]),
    "empty file": ("", [], ["t.yaml:1:1: error: the spec is empty; it needs 'input' and 'layers' (or 'models')"]),
    "only comments": ("# nothing here\n\n", [],
                      ["t.yaml:1:1: error: the spec is empty; it needs 'input' and 'layers' (or 'models')"]),
    "top level is a list": ("- {type: relu}\n", [],
                            ["t.yaml:1:1: error: the top level of a spec must be a mapping, got a list"]),
    "top level is a scalar": ("conv\n", [],
                              ["t.yaml:1:1: error: the top level of a spec must be a mapping, got string 'conv'"]),
    "two YAML documents": (
        "input: [8, 8, 3]\n---\nlayers: []\n", [],
        ["t.yaml:2:1: error: invalid YAML: but found another document (expected a single document in the stream "
         "at line 1, column 1); check brackets, quotes and indentation"]),
    "python object tag": (
        "input: [8, 8, 3]\nlayers: !!python/object/apply:os.system [echo hacked]\n", [],
        ["t.yaml:2:9: error: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed; convcost "
         "reads plain YAML only"]),
    "python name tag": (
        "input: [8, 8, 3]\nname: !!python/name:os.system\nlayers: [{type: relu}]\n", [],
        ["t.yaml:2:7: error: YAML tag 'tag:yaml.org,2002:python/name:os.system' is not allowed; convcost reads "
         "plain YAML only"]),
    "local tag and binary": (
        "input: [8, 8, 3]\nname: !custom x\ndescription: !!binary aGk=\nlayers: [{type: relu}]\n", [],
        ["t.yaml:2:7: error: YAML tag '!custom' is not allowed; convcost reads plain YAML only",
         "t.yaml:3:14: error: YAML tag 'tag:yaml.org,2002:binary' is not allowed; convcost reads plain YAML only"]),
    "set tag": (
        "input: [8, 8, 3]\nlayers: !!set {a, b}\n", [],
        ["t.yaml:2:9: error: YAML tag 'tag:yaml.org,2002:set' is not allowed; convcost reads plain YAML only"]),
    "NUL character": (
        "input: [8, 8, 3]\nname: a\x00b\nlayers: [{type: relu}]\n", [],
        ["t.yaml:2:8: error: invalid YAML: character U+0000 is not allowed in YAML text; remove it (or write it "
         "as an escape in a quoted string)"]),
    "control character after non-ASCII text": (
        "input: [8, 8, 3]\nname: café\x07\nlayers: [{type: relu}]\n", [],
        ["t.yaml:2:11: error: invalid YAML: character U+0007 is not allowed in YAML text; remove it (or write it "
         "as an escape in a quoted string)"]),
    "YAML 1.1 words, octal, floats, duplicates, merge and non-string keys": (
        "input: [8, 8, 3]\nbase: &b {kernel: 3}\nlayers:\n  - {type: conv, filters: 4.0, kernel: 3, bias: on}\n"
        "  - {type: conv, filters: 010, kernel: 3, bias: no}\n  - {type: conv, filters: 4, filters: 8, kernel: 3}\n"
        "  - {<<: *b, type: conv, filters: 4}\n  - {type: relu, 3: x}\n  - {type: conv, filters: 0x10, kernel: 3}\n", [],
        ["t.yaml:2:1: error: unknown key 'base' in the spec; allowed keys: name, description, input, layers, models, "
         "blocks",
         "t.yaml:4:27: error: 'filters' of layer 'conv1' (conv) must be a positive integer, got float 4.0; write 4",
         "t.yaml:4:49: error: 'on' would be read as a boolean; write true or false (or quote it for a string)",
         "t.yaml:5:27: error: integer '010' is ambiguous (YAML 1.1 reads it in another base or with '_' "
         "separators); write it in plain decimal, without leading zeros or '_'",
         "t.yaml:5:49: error: 'no' would be read as a boolean; write true or false (or quote it for a string)",
         "t.yaml:6:30: error: duplicate key 'filters' (first at line 6); keep one of them",
         "t.yaml:7:5: error: layer 'conv4' (conv) needs 'kernel'; add kernel: <an integer or [height, width]>",
         "t.yaml:7:6: error: merge keys ('<<') are not supported; write the keys out, or use a template under "
         "'blocks:'",
         "t.yaml:8:18: error: a key must be a plain string, got '3'; quote it if it is a name",
         "t.yaml:9:27: error: integer '0x10' is ambiguous (YAML 1.1 reads it in another base or with '_' "
         "separators); write it in plain decimal, without leading zeros or '_'"]),
}


@pytest.mark.parametrize("case", HAZARDS, ids=list(HAZARDS))
def test_hazard_is_a_clear_error_within_bounds(tmp_path, case):
    text, args, expected = HAZARDS[case]
    (tmp_path / "t.yaml").write_text(text, encoding="utf-8")
    code, out, err = run_bounded(["check", *args, "t.yaml"], tmp_path)
    assert (code, out) == (1, "")
    assert err.splitlines() == expected


def test_file_over_the_default_size_limit_is_refused_unread(tmp_path):
    # 8 MiB + 1 byte of comment: refused before YAML sees it.
    (tmp_path / "t.yaml").write_bytes(b"#" * (8 * 1024 * 1024) + b"\n")
    code, out, err = run_bounded(["check", "t.yaml"], tmp_path)
    assert (code, out, err) == (1, "", "t.yaml:1:1: error: the file is larger than the limit of 8,388,608 bytes; "
                                       "shorten it with repeat and templates, or raise --max-bytes\n")


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_max_bytes_sets_the_size_limit(tmp_path, source):
    text = b"input: [8, 8, 3]\nlayers: [{type: relu}]\n"  # 40 bytes
    (tmp_path / "t.yaml").write_bytes(text)
    arg, stdin, name = ("t.yaml", None, "t.yaml") if source == "file" else ("-", text, "<stdin>")
    assert run_bounded(["check", "--max-bytes", str(len(text)), arg], tmp_path, stdin)[0] == 0
    code, out, err = run_bounded(["check", "--max-bytes", str(len(text) - 1), arg], tmp_path, stdin)
    assert (code, out, err) == (1, "", f"{name}:1:1: error: the file is larger than the limit of 39 bytes; "
                                       "shorten it with repeat and templates, or raise --max-bytes\n")


@pytest.mark.parametrize("data, position, byte", [
    ("input: [8, 8, 3]\nlayers: [{type: relu}]\n".encode("utf-16"), "1:1", "0xff"),  # with its BOM
    (b"input: [8, 8, 3]\nname: \xe2\x82\xac\x80\nlayers: [{type: relu}]\n", "2:8", "0x80"),  # a stray byte after a euro sign
    (b"name: caf\xc3\xa9 \xff\n", "1:12", "0xff"),  # the column counts characters, not bytes
])
def test_bytes_that_are_not_utf8(tmp_path, data, position, byte):
    (tmp_path / "t.yaml").write_bytes(data)
    code, out, err = run_bounded(["check", "t.yaml"], tmp_path)
    assert (code, out, err) == (1, "", f"t.yaml:{position}: error: the file is not UTF-8 text (byte {byte}); "
                                       "save it as UTF-8\n")


def test_alias_bomb_from_standard_input(tmp_path):
    code, out, err = run_bounded(["check", "-"], tmp_path, residual_bomb(9).encode())
    assert (code, out) == (1, "")
    assert err == f"<stdin>:3:3: error: 'layers' expands to more than 1,000,000 layers; {LIMIT_MSG}\n"


def test_max_layers_raises_the_limit(tmp_path):
    spec = "input: [8, 8, 3]\nlayers:\n  - {type: repeat, name: r, times: 1500, body: [{type: relu}]}\n"
    (tmp_path / "t.yaml").write_text(spec)
    assert run_bounded(["check", "--max-layers", "1500", "t.yaml"], tmp_path) == (0, "", "")
    code, _, err = run_bounded(["check", "--max-layers", "1499", "t.yaml"], tmp_path)
    assert (code, err) == (1, f"t.yaml:3:5: error: block 'r' (repeat) expands to more than 1,499 layers "
                              f"(1,500 times a body of at least 1 layer); {LIMIT_MSG}\n")


def test_twenty_problems_are_shown_and_the_rest_counted(tmp_path):
    spec = "input: [8, 8, 3]\nlayers:\n" + "".join(f"  - {{type: relu, name: r{i}, oops: 1}}\n" for i in range(25))
    (tmp_path / "t.yaml").write_text(spec)
    code, out, err = run_bounded(["check", "t.yaml"], tmp_path)
    lines = err.splitlines()
    assert (code, out, len(lines)) == (1, "", MAX_PROBLEMS + 1)
    assert lines[0] == "t.yaml:3:28: error: unknown key 'oops' in layer 'r0' (relu); allowed keys: type, name, inputs"
    assert lines[MAX_PROBLEMS - 1].startswith("t.yaml:22:29: error: unknown key 'oops' in layer 'r19'")
    assert lines[-1] == "t.yaml: note: 5 more problems not shown (at most 20 per file); fix these and run again"


def test_did_you_mean_stays_fast_among_many_layers(tmp_path):
    # 300 misspelt names after 20,000 layers: each hint would compare with every layer; the problem cap
    # and comparing only names of a similar length and the same first letter keep it fast.
    spec = ("input: [8, 8, 3]\nlayers:\n" + "".join(f"  - {{type: relu, name: r{i}}}\n" for i in range(20_000))
            + "".join(f"  - {{type: relu, name: e{i}, inputs: r{19_999 - i}x}}\n" for i in range(300)))
    (tmp_path / "t.yaml").write_text(spec)
    code, _, err = run_bounded(["check", "t.yaml"], tmp_path)
    assert code == 1
    assert err.splitlines()[0] == "t.yaml:20003:36: error: 'inputs' names unknown layer 'r19999x'; did you mean 'r19999'?"
    assert err.splitlines()[-1] == ("t.yaml: note: 180 more problems not shown (at most 20 per file), and reading "
                                    "stopped after 200 problems; fix these and run again")


def test_pure_python_yaml_reader_deep_nesting(monkeypatch):
    # PyYAML without libyaml has no nesting limit of its own; its RecursionError is caught.
    import conv_cost.spec.yaml_tree as yaml_tree

    monkeypatch.setattr(yaml_tree, "_Loader", yaml.SafeLoader)
    with pytest.raises(SpecError) as exc:
        parse_spec("[" * 100_000 + "]" * 100_000, "t.yaml")
    assert [str(p) for p in exc.value.problems] == ["t.yaml:1:1: error: the YAML is nested too deeply to read"]


def test_recursion_error_is_a_problem_not_a_crash(tmp_path):
    # With a tiny recursion limit the depth bounds are not enough; the backstop still answers.
    code = ("import sys; from conv_cost.spec import parse_spec; from conv_cost.errors import SpecError\n"
            "text = 'input: [8, 8, 3]\\nlayers:\\n' + ''.join('  ' * k + '- type: residual\\n' + '  ' * k + "
            "'  name: r\\n' + '  ' * k + '  body:\\n' for k in range(1, 30)) + '  ' * 30 + '- {type: relu}\\n'\n"
            "sys.setrecursionlimit(60)\n"
            "try:\n    parse_spec(text, 't.yaml')\nexcept SpecError as exc:\n    print(exc)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT,
                       preexec_fn=_limit_memory)
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout in ("t.yaml:1:1: error: the spec is nested too deeply to read; flatten it\n",
                        "t.yaml:1:1: error: the YAML is nested too deeply to read\n")


@pytest.mark.parametrize("case", ["template bomb", "repeat of 10**17", "deep flow nesting (libyaml's limit)"])
def test_hazards_in_process_too(tmp_path, case):
    # The same answers through the in-process CLI (typer's CliRunner) that the fuzz tests use.
    text, args, expected = HAZARDS[case]
    (tmp_path / "t.yaml").write_text(text)
    result = run_cli(["check", *args, "t.yaml"], cwd=tmp_path)
    assert (result.exit_code, result.stdout, result.stderr.splitlines()) == (1, "", expected)


@pytest.mark.parametrize("item, col", [("{type: relu, name: l0, inputs: [l0]}", 37),
                                       ("{type: repeat, name: l0, times: 2, inputs: l0, body: [{type: relu}]}", 48)])
def test_a_layer_reading_itself(tmp_path, item, col):
    # Found by tests/test_fuzz.py: this once reached the graph as a node reading itself.
    (tmp_path / "t.yaml").write_text(f"input: [8, 8, 3]\nlayers:\n  - {item}\n")
    result = run_cli(["check", "t.yaml"], cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (
        1, f"t.yaml:3:{col}: error: 'inputs' names 'l0', the layer itself; a layer can only read earlier layers\n")


@pytest.mark.parametrize("command", ["report", "compare", "explain", "check"])
def test_every_command_that_reads_specs_is_bounded(tmp_path, command):
    (tmp_path / "t.yaml").write_text(residual_bomb(9))
    code, out, err = run_bounded([command, "t.yaml"], tmp_path)
    assert (code, out, err) == (1, "", f"t.yaml:3:3: error: 'layers' expands to more than 1,000,000 layers; {LIMIT_MSG}\n")
    code, out, err = run_bounded([command, "--max-bytes", "100", "t.yaml"], tmp_path)
    assert (code, out) == (1, "") and err.startswith("t.yaml:1:1: error: the file is larger than the limit of 100 bytes")
