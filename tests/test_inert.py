"""Output cannot be turned against its reader: names and paths with terminal escapes, newlines
and bidi controls are escaped in every text format and error line; Markdown shows HTML as text;
CSV cells that a spreadsheet would run as formulas are neutralised; table numbers are exact;
conflicting format options and an empty NO_COLOR are handled as the conventions say."""

from __future__ import annotations

import os
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from .bounded import convcost
from .conftest import SEED, run_cli

# Everything a terminal would act on: C0 but \n, DEL, C1, the line separators and bidi controls.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

HOSTILE = r'''models:
  - name: "m\e]0;pwned\a<img src=x onerror=alert(1)>"
    description: "desc\e[2J <b>bold</b> [x](javascript:alert(1)) \u202Eevil"
    input: [8, 8, 3]
    layers:
      - {type: conv, name: "c\e[31mred", filters: 4, kernel: 3}
      - {type: relu, name: "=HYPERLINK(1)"}
  - name: "@SUM(1)\x9b2J"
    input: [8, 8, 3]
    layers:
      - {type: conv, name: "-2+3", filters: 4, kernel: 1}
'''


@pytest.fixture
def hostile(tmp_path):
    (tmp_path / "h.yaml").write_text(HOSTILE)
    return tmp_path


TEXT_FORMATS = ["table", "markdown", "csv", "html"]


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_no_control_character_reaches_the_terminal(hostile, fmt):
    ran = convcost(["report", "h.yaml", "--format", fmt], hostile)
    assert ran.returncode == 0, ran.stderr
    assert RAW_CONTROL.search(ran.stdout.replace("\r\n", "\n")) is None
    assert "\\x1b[31mred" in ran.stdout


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("command", [["report"], ["compare"], ["compare", "--by-layer"], ["explain"]])
def test_no_control_character_reaches_the_reader(hostile, fmt, command):
    result = run_cli([*command, "h.yaml", "--format", fmt], cwd=hostile)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert RAW_CONTROL.search(text) is None, RAW_CONTROL.search(text)
    assert "\\x07" in text and "pwned" in text  # escaped, so still readable
    if command != ["compare"]:  # the others show the layers
        assert "\\x1b[31mred" in text


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_no_control_character_in_a_file_either(hostile, fmt):
    assert run_cli(["compare", "h.yaml", "--format", fmt, "-o", "out"], cwd=hostile).exit_code == 0
    text = (hostile / "out").read_text(encoding="utf-8").replace("\r\n", "\n")
    assert RAW_CONTROL.search(text) is None


def test_json_keeps_the_exact_names_escaped_by_json_itself(hostile):
    import json

    ran = convcost(["report", "h.yaml", "--json"], hostile)
    assert "\x1b" not in ran.stdout  # json.dumps writes \u001b
    names = [m["name"] for m in json.loads(ran.stdout)["models"]]
    assert names == ["m\x1b]0;pwned\x07<img src=x onerror=alert(1)>", "@SUM(1)\x9b2J"]


def test_the_table_shows_the_escaped_names(hostile):
    text = convcost(["report", "h.yaml"], hostile).stdout
    assert "m\\x1b]0;pwned\\x07<img src=x onerror=alert(1)>\n" in text
    assert "desc\\x1b[2J <b>bold</b> [x](javascript:alert(1)) \\u202eevil\n" in text


def test_markdown_shows_html_links_and_emphasis_as_text(hostile):
    text = convcost(["compare", "h.yaml", "--format", "markdown", "--by-layer"], hostile).stdout
    assert "<img" not in text.replace("\\<img", "") and "<b>" not in text.replace("\\<b>", "")
    assert "](javascript" not in text.replace("\\](javascript", "")
    assert "# m\\\\x1b\\]0;pwned\\\\x07\\<img src=x onerror=alert(1)> (baseline) vs @SUM(1)\\\\x9b2J\n" in text
    assert ": desc\\\\x1b\\[2J \\<b>bold\\</b> \\[x\\](javascript:alert(1)) \\\\u202eevil; input" in text
    assert "| `c\\x1b[31mred` |" in text  # code spans show their text as it is


@pytest.mark.parametrize("words, markdown", [
    ("mobilenet_v1", "mobilenet_v1"), ("_x_", "\\_x\\_"), ("kh*kw", "kh\\*kw"), ("a <b> & c", "a \\<b> \\& c"),
    ("![i](http://t/p.png)", "!\\[i\\](http://t/p.png)"), ("`x`", "\\`x\\`"), ("~~x~~", "\\~\\~x\\~\\~"),
    ("back\\slash", "back\\\\slash"), ("two\nlines", "two lines"), ("bell\a", "bell\\\\x07"),
])
def test_markdown_literal(words, markdown):
    from conv_cost.render.markdown import literal

    assert literal(words) == markdown


def test_csv_neutralises_formulas_but_not_numbers(hostile):
    import csv
    import io

    rows = list(csv.reader(io.StringIO(convcost(["report", "h.yaml", "--format", "csv"], hostile).stdout)))
    by_layer = {r[2]: r for r in rows[1:] if r[0] == "layer"}
    assert set(by_layer) == {"c\\x1b[31mred", "'=HYPERLINK(1)", "'-2+3"}
    assert by_layer["'-2+3"][1] == "'@SUM(1)\\x9b2J"
    assert by_layer["'-2+3"][14:19] == ["16", "0", "768", "1792", "256"]  # numbers are never prefixed


@pytest.mark.parametrize("cell, shown", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "\\tx"), ("\rx", "\\rx"),
    ("a=1", "a=1"), ("conv1", "conv1"), ("", ""), ("a\nb", "a\\nb"),
])
def test_csv_text_cell(cell, shown):
    from conv_cost.render.csv import text_cell

    assert text_cell(cell) == shown


# ----------------------------------------------------------------------------- error lines

def test_a_file_name_with_a_newline_and_an_escape_is_one_error_line(tmp_path):
    name = "bad\nname\x1b[2J.yaml"
    (tmp_path / name).write_text("input: [8, 8, 3]\nlayers: [{type: bogus}]\n")
    ran = convcost(["check", name], tmp_path)
    assert ran.returncode == 1
    assert ran.stderr == ("bad\\nname\\x1b[2J.yaml:2:17: error: unknown layer type 'bogus'; "
                          "see the layer table in the README\n")


def test_a_missing_file_with_an_escape_in_its_name(tmp_path):
    ran = convcost(["report", "nope\x1b[31m\n.yaml"], tmp_path)
    assert (ran.returncode, ran.stderr) == (2, "convcost: error: cannot read 'nope\\x1b[31m\\n.yaml': no such file\n")


def test_an_unknown_layer_named_with_escapes(tmp_path):
    (tmp_path / "s.yaml").write_text(SEED.read_text())
    ran = convcost(["explain", "s.yaml", "--layer", "x\x1b[2J\ny"], tmp_path)
    assert ran.returncode == 2
    assert ran.stderr.startswith("convcost: error: no layer named 'x\\x1b[2J\\ny' in s.yaml")
    assert ran.stderr.count("\n") == 1


def test_an_output_path_with_escapes(tmp_path):
    (tmp_path / "s.yaml").write_text(SEED.read_text())
    ran = convcost(["report", "s.yaml", "-o", "no\x1b[2J/x.md"], tmp_path)
    assert (ran.returncode, ran.stderr) == (2, "convcost: error: cannot write 'no\\x1b[2J/x.md': "
                                               "No such file or directory\n")


@pytest.mark.parametrize("text, shown", [
    ("plain ünï 名", "plain ünï 名"), ("\x1b[2J", "\\x1b[2J"), ("a\nb\tc\rd", "a\\nb\\tc\\rd"), ("\x00\x7f", "\\x00\\x7f"),
    ("\x9b", "\\x9b"), ("\u202eabc", "\\u202eabc"), ("\u2028", "\\u2028"), ("\ud800", "\\ud800"),
    ("emoji \U0001f469\u200d\U0001f4bb", "emoji \U0001f469\u200d\U0001f4bb"),
])
def test_inert(text, shown):
    from conv_cost.text import inert, inert_lines

    assert inert(text) == shown
    assert inert_lines(text) == shown.replace("\\n", "\n").replace("\\t", "\t")


# ----------------------------------------------------------------------------- numbers

def short(n: int, size: int, unit: str) -> str:
    """The expected table number, from Decimal arithmetic (exact) rounded half up."""
    return f"{(Decimal(n) / Decimal(size)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}{unit}"


def test_table_numbers_of_10_to_the_34_are_exact(tmp_path):
    # fc of 99,999,999,999,999,999 units on as many inputs: 10^34 MACs, far past a float's 16 digits.
    n = 99_999_999_999_999_999
    (tmp_path / "big.yaml").write_text(f"input: [1, 1, {n}]\n"
                                       f"layers: [{{type: fc, name: f, units: {n}, bias: false}}]\n")
    ran = convcost(["report", "big.yaml"], tmp_path)
    assert ran.returncode == 0, ran.stderr
    macs = n * n
    assert short(macs, 10**18, "E") == "9999999999999999.80E"
    assert f" {short(macs, 10**18, 'E')} " in ran.stdout
    assert "10000000000000000.00E" not in ran.stdout  # what float division would show


@pytest.mark.parametrize("n", [999, 1000, 39_725, 44_955, 999_994, 999_995, 999_999, 160_563_200,
                               10**36 + 5 * 10**21, -6_912, -999, -1_005])
def test_human_rounds_exact_integers_half_up(n):
    from conv_cost.render.numbers import human

    m = abs(n)
    if m < 1000:
        expected = str(n)
    else:
        expected = next(short(m, size, unit) for size, unit in ((10**18, "E"), (10**15, "P"), (10**12, "T"), (10**9, "G"),
                                                                 (10**6, "M"), (10**3, "K"))
                        if Decimal(m) / Decimal(size) >= Decimal("0.995"))
        expected = ("-" if n < 0 else "") + expected
    assert human(n) == expected


# ----------------------------------------------------------------------------- format options and colour

@pytest.mark.parametrize("options", [["--json", "--format", "csv"], ["--format", "table", "--json"],
                                     ["-f", "html", "--json"]])
@pytest.mark.parametrize("command", ["report", "compare", "explain"])
def test_json_with_another_format_is_a_usage_error(command, options):
    result = run_cli([command, str(SEED), *options])
    assert (result.exit_code, result.stdout) == (2, "")
    fmt = options[options.index("--format") + 1] if "--format" in options else options[options.index("-f") + 1]
    assert f"give --json or --format {fmt}, not both" in result.stderr


def test_json_twice_over_is_fine():
    assert run_cli(["report", str(SEED), "--json", "--format", "json"]).exit_code == 0


def run_on_a_terminal(env: dict[str, str]) -> str:
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    p = subprocess.run([sys.executable, "-m", "conv_cost", "report", str(SEED)],
                       stdout=follower, stderr=subprocess.PIPE, env={**base, "TERM": "xterm-256color", **env},
                       timeout=60)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert p.returncode == 0
    return b"".join(chunks).decode()


@pytest.mark.parametrize("value, colour", [(None, True), ("", True), ("1", False), ("0", False)])
def test_colour_on_a_terminal_unless_no_color_is_non_empty(value, colour):
    pytest.importorskip("pty")
    assert ("\x1b[" in run_on_a_terminal({} if value is None else {"NO_COLOR": value})) is colour
