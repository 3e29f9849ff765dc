"""The HTML handout: well-formed, self-contained, complete, and drawn by a real browser."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conv_cost.cli import app
from conv_cost.cost import analyze
from conv_cost.render.numbers import exact
from conv_cost.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "layer_specs").glob("*.yaml"))
SEED = ROOT / "layer_specs" / "seed_bottleneck.yaml"
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


def screenshot(page: Path, png: Path, profile: Path) -> None:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1240,1754", page.as_uri()]
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
