"""`convcost compare` as Markdown, CSV and HTML, and with --output.

Golden files under tests/golden/compare_formats/ (UPDATE_GOLDEN=1 rewrites them); CSV checked
against `compare --json`; the HTML handout parsed, checked by hand and drawn in headless Chromium.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest
from typer.testing import CliRunner

from conv_cost.cli import app
from conv_cost.layers import COST_KEYS
from conv_cost.render import FORMATS
from conv_cost.render.numbers import exact, ratio_phrase

from .conftest import GOLDEN, INCEPTION, ROOT, SEED, check_golden, run_cli
from .test_html import HEAD_BLUE, check, chromium, near, screenshot

TEACHING = {"seed_bottleneck": SEED, "inception_3a": INCEPTION}

# The seed by hand: a 5x5 conv with 32 filters on 28x28x256, with and without a 1x1 to 16 channels first.
NAIVE_MACS = 28 * 28 * 32 * 5 * 5 * 256                                  # 160,563,200
BOTTLENECK_MACS = 28 * 28 * 16 * 1 * 1 * 256 + 28 * 28 * 32 * 5 * 5 * 16  # 13,246,464
NAIVE_PARAMS = 5 * 5 * 256 * 32 + 32                                     # 204,832
BOTTLENECK_PARAMS = 1 * 1 * 256 * 16 + 16 + 5 * 5 * 16 * 32 + 32         # 16,944
NAIVE_FLOPS = 2 * NAIVE_MACS + 28 * 28 * 32
BOTTLENECK_FLOPS = 2 * BOTTLENECK_MACS + 28 * 28 * 16 + 28 * 28 * 32
NAIVE_ACTS = 28 * 28 * 32
BOTTLENECK_ACTS = 28 * 28 * 16 + 28 * 28 * 32

# A spec whose baseline has no buffers and whose second model has (a bn): a ratio JSON writes as null.
WITH_BN = """\
name: bn
input: [8, 8, 3]
models:
  - name: plain
    layers: [{type: conv, name: c, filters: 4, kernel: 3}]
  - name: normed
    layers: [{type: conv, name: c, filters: 4, kernel: 3}, {type: bn, name: n}]
"""


def ok(*args: str, stdin: str | None = None) -> str:
    result = run_cli(["compare", *map(str, args)], stdin=stdin)
    assert result.exit_code == 0, result.stderr
    return result.stdout


# ----------------------------------------------------------------------------- golden files

GOLDEN_CASES = [(stem, fmt, by_layer) for stem in TEACHING for fmt in ("markdown", "csv") for by_layer in (False, True)]


@pytest.mark.parametrize("stem, fmt, by_layer", GOLDEN_CASES,
                         ids=[f"{s}-{f}{'-by-layer' if b else ''}" for s, f, b in GOLDEN_CASES])
def test_golden(stem, fmt, by_layer):
    result = CliRunner().invoke(app, ["compare", str(TEACHING[stem]), "--format", fmt,
                                      *(["--by-layer"] if by_layer else [])])
    assert result.exit_code == 0, result.output
    # Bytes, not text: CSV lines end in CRLF (RFC 4180), which a text comparison would hide.
    out = result.stdout_bytes
    if fmt == "csv":
        assert out.count(b"\r\n") == out.count(b"\n") > 1
    check_golden(f"compare_formats/{stem}{'_by_layer' if by_layer else ''}.{'md' if fmt == 'markdown' else fmt}", out)


# ----------------------------------------------------------------------------- CSV

def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


CSV_CASES = [
    (SEED, ()), (SEED, ("--by-layer",)), (INCEPTION, ("--by-layer",)),
    (INCEPTION, ("--by-layer", "--without-bottlenecks", "--with-bottlenecks")),
    (SEED, ("--by-layer", "--with-bottlenecks", "--reduce-to", "16")),
    (GOLDEN / "compare" / "mobile.yaml", ("--by-layer", "--standard-conv", "--fc-head")),
]


@pytest.mark.parametrize("spec, flags", CSV_CASES, ids=[f"{s.stem}{''.join(f)}" for s, f in CSV_CASES])
def test_csv_parses_and_matches_json(spec, flags):
    rows = csv_rows(ok(spec, "--format", "csv", *flags))
    data = json.loads(ok(spec, "--json", *flags))
    models = [r for r in rows if r["section"] == "model"]
    assert [r["model"] for r in models] == [m["name"] for m in data["models"]]
    for row, model in zip(models, data["models"]):
        assert row["variant_of"] == (model["variant_of"] or "")
        assert row["transform"] == (model["transform"] or "")
        assert row["description"] == model["description"]
        assert [int(row[f"output_{k}"]) for k in ("height", "width", "channels")] == list(model["output"].values())
        for key in COST_KEYS:
            assert int(row[key]) == model["totals"][key]
            ratio = model["ratio"][key]
            # The same text as JSON's number, so nothing is lost on the way.
            assert row[f"ratio_{key}"] == ("" if ratio is None else json.dumps(ratio))
    layers = [r for r in rows if r["section"] == "layer"]
    expected = [(entry["name"], layer["name"], m) for layer in data.get("layers", [])
                for entry, m in zip(data["models"], layer["models"]) if m is not None]
    assert [(r["model"], r["layer"]) for r in layers] == [(model, name) for model, name, _ in expected]
    for row, (_, _, layer) in zip(layers, expected):
        assert row["type"] == layer["type"] and row["role"] == layer.get("role", "")
        for key in COST_KEYS:
            assert int(row[key]) == layer[key]
    assert ("layers" in data) == bool(layers) == ("--by-layer" in flags)
    # Per model, its layer rows add up to its total row.
    for model in data["models"] if layers else ():
        mine = [r for r in layers if r["model"] == model["name"]]
        for key in COST_KEYS:
            assert sum(int(r[key]) for r in mine) == model["totals"][key]
    notes = [r["description"] for r in rows if r["section"] == "note"]
    assert notes == data["notes"]
    assert {r["section"] for r in rows} <= {"model", "layer", "note"}


def test_csv_without_by_layer_has_no_layer_rows():
    rows = csv_rows(ok(INCEPTION, "--format", "csv"))
    assert [r["section"] for r in rows] == ["model", "model"]


def test_csv_seed_by_hand():
    rows = csv_rows(ok(SEED, "--format", "csv", "--by-layer"))
    naive, bottleneck = [r for r in rows if r["section"] == "model"]
    assert (int(naive["macs"]), int(bottleneck["macs"])) == (NAIVE_MACS, BOTTLENECK_MACS)
    assert (int(naive["params"]), int(bottleneck["params"])) == (NAIVE_PARAMS, BOTTLENECK_PARAMS)
    assert (int(naive["flops"]), int(bottleneck["flops"])) == (NAIVE_FLOPS, BOTTLENECK_FLOPS)
    assert float(naive["ratio_macs"]) == 1.0
    assert float(bottleneck["ratio_macs"]) == BOTTLENECK_MACS / NAIVE_MACS == 0.0825
    assert float(bottleneck["ratio_activations"]) == BOTTLENECK_ACTS / NAIVE_ACTS == 1.5
    by_layer = {(r["model"], r["layer"]): r for r in rows if r["section"] == "layer"}
    assert list(by_layer) == [("bottleneck", "reduce"), ("naive", "conv5x5"), ("bottleneck", "conv5x5")]
    # A layer's ratio is against the baseline's layer of the same name; 'reduce' has none to compare with.
    assert by_layer["bottleneck", "reduce"]["ratio_macs"] == ""
    assert by_layer["bottleneck", "reduce"]["role"] == "reduce"
    assert float(by_layer["bottleneck", "conv5x5"]["ratio_macs"]) == (28 * 28 * 32 * 5 * 5 * 16) / NAIVE_MACS


def test_csv_ratio_without_a_baseline_total_is_empty():
    rows = csv_rows(ok("-", "--format", "csv", stdin=WITH_BN))
    plain, normed = [r for r in rows if r["section"] == "model"]
    assert plain["buffers"] == "0" and normed["buffers"] == str(2 * 4)
    assert normed["ratio_buffers"] == ""                  # 8 / 0: JSON's null
    assert plain["ratio_buffers"] == "1.0"                # 0 / 0: the same
    assert float(normed["ratio_macs"]) == 1.0             # the bn has no MACs


# ----------------------------------------------------------------------------- Markdown

def markdown_tables(text: str) -> list[list[str]]:
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


@pytest.mark.parametrize("spec", TEACHING.values(), ids=TEACHING.keys())
@pytest.mark.parametrize("by_layer", [False, True], ids=["totals", "by-layer"])
def test_markdown_tables_are_well_formed(spec, by_layer):
    text = ok(spec, "--format", "markdown", *(["--by-layer"] if by_layer else []))
    data = json.loads(ok(spec, "--json", "--by-layer"))
    tables = markdown_tables(text)
    assert len(tables) == (2 if by_layer else 1)
    for t in tables:
        assert len({line.replace("\\|", "").count("|") for line in t}) == 1  # as many cells in every row
    names = [m["name"] for m in data["models"]]
    assert text.startswith(f"# {names[0]} (baseline) vs {' vs '.join(names[1:])}\n")
    head = tables[0][0]
    for name in names:
        assert f" {name} |" in head
    for layer in data["layers"] if by_layer else ():
        # A name whose rows differ (in type, kernel or input) carries a mark after it.
        assert f"| `{layer['name']}` |" in text or f"| `{layer['name']}` * |" in text


def test_markdown_seed_by_hand():
    text = ok(SEED, "--format", "markdown", "--exact", "--by-layer")
    assert f"| MACs (multiply-adds) | {exact(NAIVE_MACS)} | {exact(BOTTLENECK_MACS)} | 12.1x fewer |" in text
    assert f"| activations | {exact(NAIVE_ACTS)} | {exact(BOTTLENECK_ACTS)} | 1.5x more |" in text
    assert round(NAIVE_MACS / BOTTLENECK_MACS, 1) == 12.1
    assert (f"\nbottleneck: 12.1x fewer MACs than naive ({exact(NAIVE_MACS)} -> {exact(BOTTLENECK_MACS)}), "
            f"12.1x fewer params ({exact(NAIVE_PARAMS)} -> {exact(BOTTLENECK_PARAMS)}), 12.1x fewer FLOPs, "
            "1.5x more activations.\n") in text
    # The change in MACs of the 5x5 conv, against the baseline's: 16 input channels instead of 256.
    change = 28 * 28 * 32 * 5 * 5 * 16 - NAIVE_MACS
    # conv5x5 reads 256 channels in one model and 16 in the other: marked, and said under the table.
    assert f"| `conv5x5` * | conv | {exact(NAIVE_PARAMS)} | {exact(NAIVE_MACS)} |" in text
    assert ("* conv5x5: the same kind of layer on a different input 28x28x256 / 28x28x16 (what a change before it, "
            "such as a bottleneck, does)") in text
    assert f" | {exact(change)} |  |" in text
    assert f"| **total** |  | **{exact(NAIVE_PARAMS)}** | **{exact(NAIVE_MACS)}** |" in text


def test_markdown_escapes_pipes_in_names():
    spec = ("input: [8, 8, 3]\nmodels:\n  - {name: 'a|b', layers: [{type: conv, name: 'c|d', filters: 4, kernel: 3}]}\n"
            "  - {name: e, layers: [{type: conv, name: 'c|d', filters: 8, kernel: 3}]}\n")
    text = ok("-", "--format", "markdown", "--by-layer", stdin=spec)
    assert "| a\\|b | e | vs a\\|b |" in text
    assert "| `c\\|d` |" in text
    for t in markdown_tables(text):
        assert len({line.replace("\\|", "").count("|") for line in t}) == 1


def test_markdown_notes_are_quoted():
    text = ok(SEED, "--format", "markdown", "--without-bottlenecks")
    assert "> note: no 'naive without bottlenecks': it has no 1x1 bottleneck to remove\n" in text
    assert "> note: bottleneck without bottlenecks: removed reduce; changed conv5x5\n" in text


# ----------------------------------------------------------------------------- HTML

@pytest.mark.parametrize("spec", TEACHING.values(), ids=TEACHING.keys())
@pytest.mark.parametrize("flags", [(), ("--by-layer",), ("--by-layer", "--without-bottlenecks", "--exact")],
                         ids=["plain", "by-layer", "by-layer-variants-exact"])
def test_html_well_formed_complete_and_self_contained(spec, flags):
    page = ok(spec, "--format", "html", *flags)
    c = check(page)
    text = " ".join(c.text)
    data = json.loads(ok(spec, "--json", "--by-layer", *flags[1:]))
    base = data["models"][0]
    for model in data["models"]:
        assert model["name"] in text
        for key in ("params", "macs", "flops", "activations"):
            assert exact(model["totals"][key]) in text
    # The savings line of every model but the baseline, its ratio of MACs in words.
    summaries = re.findall(r'<p class="summary[^"]*"><b>(.*?)</b>: (.*?)</p>', page)
    assert [html.unescape(name) for name, _ in summaries] == [m["name"] for m in data["models"][1:]]
    for (_, line), model in zip(summaries, data["models"][1:]):
        word = "as" if model["ratio"]["macs"] == 1 else "than"  # "same MACs as naive"
        assert html.unescape(line).startswith(f"{ratio_phrase(model['ratio']['macs'], 'MACs')} {word} {base['name']}")
    for layer in data["layers"]:
        assert layer["name"] in text
    assert html.unescape(re.search(r'<pre class="spec">(.*?)</pre>', page, re.S).group(1)) == \
        spec.read_text(encoding="utf-8").rstrip()
    tags = {t for t, _ in c.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    for tag, attrs in c.tags:
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    assert "url(" not in page and "@import" not in page
    assert re.search(r"@page\s*{\s*size:\s*A4", page)


def test_html_seed_by_hand():
    page = ok(SEED, "--format", "html")
    c = check(page)
    text = " ".join(c.text)
    assert "<title>seed bottleneck</title>" in page
    assert "5x5 conv on 28x28x256, with and without a 1x1 reduction to 16 channels" in text
    for n in (NAIVE_MACS, BOTTLENECK_MACS, NAIVE_PARAMS, BOTTLENECK_PARAMS, NAIVE_FLOPS, BOTTLENECK_FLOPS):
        assert exact(n) in text
    # The ratio in words, in the table and in the summary line.
    assert "12.1x fewer" in text and "1.5x more" in text
    assert "12.1x fewer MACs than naive (160.56M \u2192 13.25M)" in text
    # The formulas of both models, each with this layer's numbers put in.
    assert "= 28*28*32*5*5*256/1" in text and "= 28*28*32*5*5*16/1" in text and "= 28*28*16*1*1*256/1" in text
    # Charts: per model, MACs and params (2 models x 2 panels); per layer, the bars of the layers
    # that have MACs: naive's conv5x5, bottleneck's reduce and conv5x5 (3 x 2 panels).
    bars = [a for t, a in c.tags if t == "rect" and re.fullmatch(r"m\d", a.get("class", ""))]
    assert len(bars) == 2 * 2 + 3 * 2
    # One scale per panel across models: the largest bar fills its track, the others are in proportion.
    tracks = [a for t, a in c.tags if t == "rect" and a.get("class") == "track"]
    assert len(tracks) == len(bars)
    full = float(tracks[0]["width"])  # the per-model chart's track
    macs_per_model = [float(a["width"]) for a in bars[0:2]]
    assert macs_per_model == [full, round(full * BOTTLENECK_MACS / NAIVE_MACS, 1)]
    # Per layer (MACs panel, in aligned order): bottleneck's reduce, naive's conv5x5, bottleneck's conv5x5.
    macs_per_layer = [float(a["width"]) for a in bars[4:7]]
    full = float(tracks[4]["width"])  # the per-layer chart's, a little longer: its value labels are shorter
    assert macs_per_layer == [round(full * 28 * 28 * 16 * 256 / NAIVE_MACS, 1), full,
                              round(full * 28 * 28 * 32 * 5 * 5 * 16 / NAIVE_MACS, 1)]
    # The by-layer table is not there without --by-layer; each model's own layer table is.
    assert "Layer by layer" not in text
    assert text.count("Cost per layer") == 0 and "% MACs" in text


def test_html_by_layer_lines_the_layers_up():
    page = ok(INCEPTION, "--format", "html", "--by-layer", "--exact")
    c = check(page)
    text = " ".join(c.text)
    assert "Layer by layer" in text
    # 3x3 on 192 channels instead of 96: its MACs grow by 28*28*128*3*3*(192-96).
    assert "+" + exact(28 * 28 * 128 * 3 * 3 * (192 - 96)) in text
    assert "-" + exact(28 * 28 * 96 * 192) in text  # the 3x3_reduce, gone
    # Layers the same in both models are worked out once.
    assert "Worked out as in reduced above" in text


def test_html_escapes_text_from_the_spec():
    spec = ("name: '<script>x</script>'\ndescription: 'a & b'\ninput: [8, 8, 3]\nmodels:\n"
            "  - {name: '<b>m</b>', layers: [{type: conv, name: 'x<y>', filters: 4, kernel: 3}]}\n"
            "  - {name: n, layers: [{type: conv, name: 'x<y>', filters: 8, kernel: 3}]}\n")
    page = ok("-", "--format", "html", "--by-layer", stdin=spec)
    check(page)
    assert "<script>" not in page and "<y>" not in page and "<b>m</b>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "a &amp; b" in page and "&lt;b&gt;m&lt;/b&gt;" in page


@pytest.mark.skipif(chromium() is None, reason="no Chromium installed (Debian: apt-get install chromium); "
                                               "the compare handout is not checked in a real browser")
def test_chromium_draws_the_compare_handout(tmp_path):
    from PIL import Image

    page = tmp_path / "handout.html"
    result = run_cli(["compare", str(SEED), "--format", "html", "--output", str(page)])
    assert result.exit_code == 0, result.stderr
    png = tmp_path / "handout.png"
    screenshot(page, png, tmp_path / "profile")
    img = Image.open(png).convert("RGB")
    assert img.size == (1240, 1754)
    assert len(img.getcolors(1 << 20)) > 50
    px = img.load()
    width, height = img.size
    # The comparison table's head: a band of the head's blue, 12 pixels or more, with white text in it.
    blue_rows = [y for y in range(height) if sum(near(px[x, y], HEAD_BLUE) for x in range(0, width, 4)) > 60]
    bands = []
    for y in blue_rows:
        if bands and y == bands[-1][1]:
            bands[-1][1] = y + 1
        else:
            bands.append([y, y + 1])
    bands = [b for b in bands if b[1] - b[0] >= 12]
    assert bands, "no table head drawn on the first screen"
    top, bottom = bands[0]
    assert sum(1 for y in range(top, bottom) for x in range(width) if min(px[x, y]) > 200) > 100
    # The per-model chart: the second model's bars in its colour (m1 in the CSS), under the table.
    orange = (0xD9, 0x82, 0x2B)
    assert sum(1 for y in range(bottom, height, 2) for x in range(0, width, 2) if near(px[x, y], orange)) > 30
    # The savings line is drawn in its green box.
    green_box = (0xEE, 0xF6, 0xF1)
    assert sum(1 for y in range(bottom, height, 2) for x in range(0, width, 4) if near(px[x, y], green_box, 3)) > 500


# ----------------------------------------------------------------------------- formats, --output

def test_every_command_offers_the_registered_formats():
    import typer.main

    group = typer.main.get_command(app)
    for name in ("report", "compare", "explain"):
        [fmt] = [p for p in group.commands[name].params if "--format" in p.opts]
        assert list(fmt.type.choices) == list(FORMATS) == ["table", "json", "markdown", "csv", "html"]


@pytest.mark.parametrize("command", ["report", "compare", "explain"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_works_for_every_command_and_writes_to_output(tmp_path, command, fmt):
    out = tmp_path / f"result.{fmt}"
    to_stdout = run_cli([command, str(SEED), "--format", fmt])
    to_file = run_cli([command, str(SEED), "--format", fmt, "--output", str(out)])
    assert to_stdout.exit_code == to_file.exit_code == 0, to_stdout.stderr + to_file.stderr
    assert to_stdout.stdout.strip() and to_file.stdout == ""
    assert out.read_text(encoding="utf-8") == to_stdout.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_compare_output_is_left_alone_by_an_invalid_spec(tmp_path):
    out = tmp_path / "handout.html"
    out.write_text("the previous handout")
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [8, 8, 3]\nmodels:\n  - {name: a, layers: [{type: conv, filters: 4, kernal: 3}]}\n")
    result = run_cli(["compare", str(bad), "--format", "html", "--output", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}:3:")
    assert "kernal" in result.stderr
    assert out.read_text() == "the previous handout"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "handout.html"]


def test_compare_output_is_not_made_when_a_transform_fails(tmp_path):
    # Without its bottleneck, the grouped 3x3 would read 256 channels: groups=3 no longer divides them.
    spec = ("input: [8, 8, 256]\nlayers:\n  - {type: conv, name: r, filters: 48, kernel: 1}\n"
            "  - {type: conv, name: g3x3, filters: 48, kernel: 3, groups: 3}\n")
    src = tmp_path / "grouped.yaml"
    src.write_text(spec)
    out = tmp_path / "c.csv"
    result = run_cli(["compare", str(src), "--format", "csv", "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{src}:4:5: error: layer 'g3x3': groups=3 must divide")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grouped.yaml"]


def test_compare_output_into_a_missing_directory_is_a_usage_error(tmp_path):
    out = tmp_path / "no" / "dir" / "compare.md"
    result = run_cli(["compare", str(SEED), "--format", "markdown", "--output", str(out)])
    assert result.exit_code == 2
    assert result.stderr == f"convcost: error: cannot write '{out}': No such file or directory\n"
    assert result.stdout == ""


def test_compare_table_to_a_file_has_no_colour(tmp_path, monkeypatch):
    out = tmp_path / "t.txt"
    monkeypatch.setattr("conv_cost.cli.color_wanted", lambda: True)
    assert run_cli(["compare", str(SEED), "-o", str(out)]).exit_code == 0
    assert "\x1b[" not in out.read_text(encoding="utf-8")
    assert "12.1x fewer" in out.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- docs

def test_docs_show_and_link_the_compare_handout():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    handouts = (ROOT / "docs" / "handouts.md").read_text(encoding="utf-8")
    assert "docs/compare_handout.png" in readme and "](compare_handout.png)" in handouts
    assert (ROOT / "docs" / "compare_handout.png").stat().st_size > 10_000
    assert "`--format markdown|csv|html` works on `report`, `compare` and `explain`" in readme
    assert "convcost compare layer_specs/seed_bottleneck.yaml --format html --output handout.html" in handouts


def test_docs_list_every_compare_csv_column():
    from conv_cost.render.csv import COMPARE_HEADER

    handouts = (ROOT / "docs" / "handouts.md").read_text(encoding="utf-8")
    section = handouts[handouts.index("**CSV columns** (`compare`):") + len("**CSV columns** (`compare`):"):]
    listed = re.findall(r"`([a-z_]+)`", section[:section.index(". `section` says")])
    assert listed == list(COMPARE_HEADER)
