"""The HTML handout: well-formed, self-contained, complete, and drawn by a real browser."""

from __future__ import annotations

import html
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from conv_cost.cli import app
from conv_cost.cost import analyze
from conv_cost.render.html import CSS, LABEL_ROOM, LABEL_SIZE, WIDE_LABEL_SIZE, column_ems, label_lines, text_em
from conv_cost.render.numbers import exact
from conv_cost.spec import load_spec

from .conftest import BUNDLED, SEED, SPECS

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# SVG elements written as <x/>.
SELF_CLOSED = {"rect", "path", "line", "circle"}


class Checker(HTMLParser):
    """Records every problem with nesting: stray end tags, tags left open, misnested tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.decl = ""

    def handle_decl(self, decl):
        self.decl = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID | SELF_CLOSED:
            self.problems.append(f"<{tag}/> is not a void element")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append(f"end tag for void <{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def render(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def check(page: str) -> Checker:
    c = Checker()
    c.feed(page)
    c.close()
    assert c.problems == []
    assert c.stack == []
    assert c.decl.lower() == "doctype html"
    return c


@pytest.mark.parametrize("command", ["report", "explain"])
@pytest.mark.parametrize("spec", BUNDLED, ids=lambda p: p.stem)
def test_well_formed_and_complete(spec, command):
    page = render(command, str(spec), "--format", "html")
    c = check(page)
    text = " ".join(check(page.replace("<wbr>", "")).text)  # a path may break after each '/'; read it whole
    for model in load_spec(spec):
        report = analyze(model)
        assert report.name in text
        for row in report.layers:
            assert row.name in text
        if command == "report":
            for key in ("params", "macs", "flops", "activations"):
                assert exact(getattr(report.totals, key)) in text


def test_self_contained_and_printable():
    page = render("report", str(SEED), "--format", "html")
    c = check(page)
    tags = {t for t, _ in c.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    for tag, attrs in c.tags:
        for name in ("src", "href"):
            assert name not in attrs, (tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
    assert "url(" not in page and "@import" not in page
    assert re.search(r"@page\s*{\s*size:\s*A4", page)
    assert "@media print" in page
    assert "<svg" in page and "<table" in page


def test_seed_handout_contents_by_hand():
    page = render("report", str(SEED), "--format", "html")
    c = check(page)
    text = " ".join(c.text)
    # Title and description come from the spec file itself.
    assert "<title>seed bottleneck</title>" in page
    assert "5x5 conv on 28x28x256, with and without a 1x1 reduction to 16 channels" in text
    # The spec, escaped, exactly as written.
    pre = re.search(r'<pre class="spec">(.*?)</pre>', page, re.S).group(1)
    assert html.unescape(pre) == SEED.read_text(encoding="utf-8").rstrip()
    # Totals, and a formula with its numbers.
    assert exact(28 * 28 * 32 * 5 * 5 * 256) in text
    assert exact(28 * 28 * 16 * 256 + 28 * 28 * 32 * 5 * 5 * 16) in text
    assert "= 28*28*32*5*5*256/1" in text
    # The chart has one MACs bar and one params bar per costly layer: 1 (naive) + 2 (bottleneck), x2.
    assert sum(1 for t, a in c.tags if t == "rect" and a.get("class") in ("macs", "params")) == 2 * 3


def test_text_from_the_spec_is_escaped():
    spec = ("name: '<script>alert(1)</script>'\ndescription: 'a & b < c'\ninput: [8, 8, 3]\n"
            "layers: [{type: conv, name: 'x<y>', filters: 4, kernel: 3}]\n")
    result = CliRunner().invoke(app, ["report", "-", "--format", "html"], input=spec)
    assert result.exit_code == 0, result.output
    page = result.stdout
    check(page)
    assert "<script>" not in page and "<y>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &amp; b &lt; c" in page


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, png: Path, profile: Path, size: tuple[int, int] = (1240, 1754)) -> None:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and png.is_file(), proc.stderr[-2000:]


HEAD_BLUE = (0x2F, 0x5D, 0x8A)  # the table head's background in the handout's CSS


def near(px, rgb, tol=12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(px, rgb))


@pytest.mark.skipif(chromium() is None, reason="no Chromium installed (Debian: apt-get install chromium); "
                                               "the handout is not checked in a real browser")
def test_chromium_draws_the_table(tmp_path):
    from PIL import Image

    page = tmp_path / "handout.html"
    page.write_text(render("report", str(SEED), "--format", "html"), encoding="utf-8")
    png = tmp_path / "handout.png"
    screenshot(page, png, tmp_path / "profile")
    img = Image.open(png).convert("RGB")
    assert img.size == (1240, 1754)
    # Not blank: many colours, and a fair amount of ink.
    assert len(img.getcolors(1 << 20)) > 50
    px = img.load()
    width, height = img.size
    # The table heads: bands at least 12 pixels tall where a third of a row is the head's blue
    # (headings' 2-pixel rules and the chart's bars are thinner or narrower).
    # A row counts when over 100 of its 310 samples are blue (header text covers the rest).
    blue = [sum(near(px[x, y], HEAD_BLUE) for x in range(0, width, 4)) > 100 for y in range(height)]
    bands, start = [], None
    for y, is_blue in enumerate(blue + [False]):
        if is_blue and start is None:
            start = y
        elif not is_blue and start is not None:
            if y - start >= 12:
                bands.append((start, y))
            start = None
    assert len(bands) >= 2, f"expected the two models' table heads on the first screen, found {bands}"
    for top, bottom in bands[:2]:
        # White header text on the blue band...
        white = sum(1 for y in range(top, bottom) for x in range(width) if min(px[x, y]) > 200)
        assert white > 100, f"no header text in the band {top}-{bottom}"
        # ...and dark text in the body rows right under it.
        dark = sum(1 for y in range(bottom, min(bottom + 40, height)) for x in range(width) if max(px[x, y]) < 110)
        assert dark > 200, f"only {dark} dark pixels under the table head at {bottom}"


# ----------------------------------------------------------------------------- the A4 width

FOUR_MODELS = ["compare", str(SPECS / "resnet50.yaml"), "--with-bottlenecks", "--without-bottlenecks",
               "--standard-conv", "--fc-head", "--by-layer", "--format", "html"]


def as_printed(page: str, sections: str) -> tuple[str, int]:
    """The page as Chromium prints it on A4, on a screen: its print rules applied and the body as wide
    as the text of an A4 page between the @page margins (in CSS pixels, 96 to the inch, as in print),
    showing only `sections` (a CSS selector); and that width."""
    margins = re.search(r"@page\s*{\s*size:\s*A4;\s*margin:\s*([^;]+);", page).group(1).split()
    right = margins[1] if len(margins) > 1 else margins[0]  # CSS: top [right [bottom [left]]]
    left = margins[3] if len(margins) == 4 else right
    text_mm = 210 - float(left.removesuffix("mm")) - float(right.removesuffix("mm"))
    extra = (f"html {{ background: #fff; }} body {{ width: {text_mm}mm; margin: 0; }} "
             f"main > :not({sections}) {{ display: none; }}")
    printed = page.replace("@media print {", "@media all {").replace("</style>", extra + "\n</style>", 1)
    return printed, math.floor(text_mm / 25.4 * 96)


@pytest.mark.skipif(chromium() is None, reason="no Chromium installed (Debian: apt-get install chromium); "
                                               "the handout is not checked in a real browser")
def test_a_four_model_comparison_fits_the_width_of_an_a4_page(tmp_path):
    from PIL import Image

    printed, width = as_printed(render(*FOUR_MODELS), "section.side, section.bylayer")
    assert width == 695  # 184 mm: A4 less two 13 mm margins
    page = tmp_path / "four.html"
    page.write_text(printed, encoding="utf-8")
    png = tmp_path / "four.png"
    screenshot(page, png, tmp_path / "profile", size=(1000, 16000))
    img = Image.open(png).convert("RGB")
    px = img.load()
    ink = [y for y in range(0, img.size[1], 4) if any(min(px[x, y]) < 235 for x in range(0, width, 3))]
    assert ink and ink[-1] < img.size[1] - 200, "the tables do not end inside the screenshot"
    # The tables use the width (their heads are blue from edge to edge)...
    heads = [y for y in ink if near(px[5, y], HEAD_BLUE) and near(px[width - 5, y], HEAD_BLUE)]
    assert len(heads) >= 3, "expected the totals, MACs and params tables' heads across the page"
    # ...and nothing is drawn right of it: no cell, rule or number spills past the margin.
    spilled = [(x, y) for y in range(0, ink[-1] + 4) for x in range(width + 2, img.size[0], 2) if min(px[x, y]) < 235]
    assert spilled == [], f"drawn past the right margin at {spilled[:5]}"


def test_the_four_model_by_layer_table_is_split_into_macs_and_params():
    page = render(*FOUR_MODELS)
    section = re.search(r'<section class="bylayer">.*?</section>', page, re.S).group(0)
    assert re.findall(r"<h3>(.*?)</h3>", section) == ["MACs", "Params"]
    macs_head, params_head = re.findall(r"<thead>(.*?)</thead>", section, re.S)
    models = ["resnet50", "resnet50 without bottlenecks", "resnet50 with bottlenecks", "resnet50 with an fc head"]
    # Each model's name once over its MACs (and change) columns, then once per params column.
    assert [html.unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r'<th class="model"[^>]*>(.*?)</th>',
                                                                         macs_head)] == models
    assert re.findall(r'colspan="(\d)"', macs_head) == ["1", "2", "2", "2"]
    assert [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", params_head)] == [
        "layer", "type", *(f"{m}params" for m in models), "only in"]


def chart_labels(page: str) -> list[str]:
    """The text of every bar label, its lines joined (a line ends where a space or a '/' was)."""
    return [html.unescape(re.sub(r"<[^>]+>", " ", m)).split() for m in
            re.findall(r'<text class="label"[^>]*>(.*?)</text>', page)]


def test_chart_labels_are_never_cut():
    # "resnet50 without bottlenecks" used to be cut to "…snet50 without bottlenecks", and
    # "googlenet_torchvision with an fc head" to "…orchvision with an fc head".
    for args, names in ((FOUR_MODELS, ("resnet50 without bottlenecks", "resnet50 with an fc head",
                                       "layer1_0/res/conv2_reduce")),
                        (["compare", str(SPECS / "googlenet.yaml"), "--fc-head", "--format", "html"],
                         ("googlenet_torchvision with an fc head", "inception3a/out/b2/branch2_reduce/conv"))):
        page = render(*args)
        labels = ["".join(words) for words in chart_labels(page)]
        assert "…" not in page.split("<svg", 1)[1]
        for name in names:
            assert name.replace(" ", "") in labels, name
    # A label too long for one line takes two, one under the other, right-aligned.
    assert ('<tspan x="240" dy="0">googlenet_torchvision with an</tspan><tspan x="240" dy="17">fc head</tspan>'
            in page)


@pytest.mark.parametrize("label", ["resnet50 without bottlenecks", "googlenet_torchvision with an fc head",
                                   "denseblock4/16/layer/cat/b2/conv2", "x" * 80, "MMMMMMMMMMMMMMMMMMMMMMMMM",
                                   "a/b_c-d e", "conv1", ""])
@pytest.mark.parametrize("size", [LABEL_SIZE, WIDE_LABEL_SIZE])
def test_label_lines_keep_every_character_and_fit(label, size):
    lines = label_lines(label, size)
    assert "".join(lines).replace(" ", "") == label.replace(" ", "")
    for line in lines:
        assert len(line) == 1 or text_em(line) * size <= LABEL_ROOM, line
    assert len(lines) == 1 or text_em(label) * size > LABEL_ROOM  # a label that fits stays on one line


def test_layer_names_are_set_like_the_rest_of_the_table():
    # They were in a monospace font at 0.95 of the table's size, which read as smaller; now they
    # inherit the table's family and size, in the tables and in the charts alike.
    rules = dict(re.findall(r"^([^{}@]+?)\s*{([^}]*)}", CSS, re.M))
    assert "font" not in rules["td.name"]
    assert "font-family" not in rules["svg .label"]


def brute_force_ems(headers, rows, foot):
    """column_ems's definition, word by word over every cell (what column_ems computes faster)."""
    ems = [max(text_em(w, bold=True) for w in re.split(r" |(?<=[_-])", h)) for h in headers]
    for r, bold in [*((r, False) for r in rows), *(((foot, True),) if foot else ())]:
        ems = [max([em, *(text_em(w, bold) for w in re.split(r" |(?<=/)", c))]) for em, c in zip(ems, r)]
    return ems


_cell = st.text(alphabet="ab MWil1/-_.0x", max_size=30)


@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.lists(_cell, min_size=n, max_size=n), st.lists(st.lists(_cell, min_size=n, max_size=n), max_size=12),
    st.none() | st.lists(_cell, min_size=n, max_size=n))))
def test_column_ems_is_the_widest_word_of_every_cell(table):
    headers, rows, foot = table
    assert column_ems(headers, rows, foot) == brute_force_ems(headers, rows, foot)


def test_a_handout_works_out_at_most_a_thousand_layers(tmp_path):
    from conv_cost.explain import HANDOUT_LAYERS

    spec = tmp_path / "long.yaml"
    # 1,002 convs and 1,002 relus: the relus are only named, the last two convs only counted.
    spec.write_text("input: [4, 4, 2]\nlayers:\n  - type: repeat\n    times: 1002\n"
                    "    body: [{type: conv, filters: 2, kernel: 1}, {type: relu}]\n")
    page = render("report", str(spec), "--format", "html")
    assert HANDOUT_LAYERS == 1000
    assert page.count('<div class="layer">') == 1000 + 1  # the layers worked out, and the totals
    left_out = re.search(r'Not worked out in this handout, which works out at most 1,000 layers of a model '
                         r'\(activations aside\): (.*?)\. convcost explain', page)
    assert left_out and left_out.group(1) == "<code>repeat1/1001/conv1</code>, <code>repeat1/1002/conv1</code>"
    assert "Not worked out here: <code>repeat1/1/relu1</code>" in page and "and 952 more" in page
    everything = render("explain", str(spec), "--format", "html")
    assert everything.count('<div class="layer">') == 2004 + 1 and "Not worked out" not in everything
