"""The zoo's modern networks (squeeze-and-excitation, channel shuffle, layer norm, dense
connections, grouped convs, up-convolutions) against published figures and a PyTorch oracle.

Sources of the pinned figures:
- params: torchvision's documented `num_params` (the `meta` of each weights enum in
  torchvision/models/*.py, IMAGENET1K_V1), and for U-Net the count of Ronneberger et al.'s
  network printed by G. Chlebus, "Looking under the hood of tensorflow models" (2018,
  gchlebus.github.io, code/profiling-tf-models/u_net.py), also worked out by hand below.
- buffers and MACs: an independent oracle, not convcost: plain-PyTorch re-implementations of
  torchvision's builders (module for module after torchvision/models/mobilenetv3.py,
  efficientnet.py, shufflenetv2.py, convnext.py, densenet.py, resnet.py and ops/misc.py, and of
  the U-Net of the spec), whose parameter counts equal the published ones above, measured with
  torch 2.13.0 on a zero image (batch 1, eval mode): buffers = sum(b.numel()) less BatchNorm's
  `num_batches_tracked`; MACs = torch.utils.flop_counter.FlopCounterMode total FLOPs / 2.
- torchvision's `_ops` (GFLOPS counting a multiply-add once, printed to 3 decimals, ResNeXt 2)
  agree with those MACs within rounding.
- The papers: Howard et al. 2019 (MobileNetV3) Table 3; Tan & Le 2019 (EfficientNet) Table 2;
  Ma et al. 2018 (ShuffleNet V2) Table 5; Liu et al. 2022 (ConvNeXt) Table 1; Xie et al. 2017
  (ResNeXt) Table 1; Huang et al. 2017 (DenseNet) Table 1; Ronneberger et al. 2015 (U-Net) Fig. 1.
"""

from __future__ import annotations

from functools import cache

import pytest

from conv_cost.cost import ModelReport, analyze
from conv_cost.spec import load_spec

from .conftest import SPECS



@cache
def report(stem: str) -> ModelReport:
    [model] = load_spec(SPECS / f"{stem}.yaml")
    return analyze(model)


def layer(rep: ModelReport, name: str):
    [row] = [r for r in rep.layers if r.name == name]
    return row


# (spec, published params, oracle buffers, oracle MACs, output H x W x C)
MODERN = [
    # MobileNet_V3_Large_Weights.IMAGENET1K_V1: num_params 5,483,032
    pytest.param("mobilenet_v3_large", 5_483_032, 24_400, 216_589_760, (1, 1, 1000), id="mobilenet_v3_large"),
    # EfficientNet_B0_Weights.IMAGENET1K_V1: num_params 5,288,548
    pytest.param("efficientnet_b0", 5_288_548, 42_016, 385_814_752, (1, 1, 1000), id="efficientnet_b0"),
    # ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1: num_params 2,278,604
    pytest.param("shufflenet_v2_x1_0", 2_278_604, 16_180, 144_907_992, (1, 1, 1000), id="shufflenet_v2_x1_0"),
    # ConvNeXt_Tiny_Weights.IMAGENET1K_V1: num_params 28,589,128 (layer norm keeps no buffers)
    pytest.param("convnext_tiny", 28_589_128, 0, 4_455_531_264, (1, 1, 1000), id="convnext_tiny"),
    # DenseNet121_Weights.IMAGENET1K_V1: num_params 7,978,856
    pytest.param("densenet121", 7_978_856, 83_648, 2_834_161_664, (1, 1, 1000), id="densenet121"),
    # ResNeXt50_32X4D_Weights.IMAGENET1K_V1: num_params 25,028,904
    pytest.param("resnext50_32x4d", 25_028_904, 68_224, 4_230_479_872, (1, 1, 1000), id="resnext50_32x4d"),
    # Ronneberger et al. 2015's network: 31,030,658 (Chlebus 2018; by hand below); 512x512x1 in
    pytest.param("unet", 31_030_658, 0, 192_384_335_872, (512, 512, 2), id="unet"),
]
STEMS = [p.values[0] for p in MODERN]


@pytest.mark.parametrize(("stem", "params", "buffers", "macs", "output"), MODERN)
def test_params_equal_the_published_count(stem, params, buffers, macs, output):
    assert report(stem).totals.params == params


@pytest.mark.parametrize(("stem", "params", "buffers", "macs", "output"), MODERN)
def test_buffers_and_macs_equal_the_pytorch_replica(stem, params, buffers, macs, output):
    totals = report(stem).totals
    assert (totals.buffers, totals.macs) == (buffers, macs)


@pytest.mark.parametrize(("stem", "params", "buffers", "macs", "output"), MODERN)
def test_output_shape(stem, params, buffers, macs, output):
    out = report(stem).output
    assert (out.height, out.width, out.channels) == output


# (spec, the paper's authors and year in the description, its title in the header)
CITATIONS = [
    ("mobilenet_v3_large", "Howard et al. 2019", "Searching for MobileNetV3"),
    ("efficientnet_b0", "Tan & Le 2019", "EfficientNet: Rethinking Model Scaling"),
    ("shufflenet_v2_x1_0", "Ma et al. 2018", "ShuffleNet V2: Practical Guidelines"),
    ("convnext_tiny", "Liu et al. 2022", "A ConvNet for the 2020s"),
    ("densenet121", "Huang et al. 2017", "Densely Connected Convolutional Networks"),
    ("resnext50_32x4d", "Xie et al. 2017", "Aggregated Residual Transformations"),
    ("unet", "Ronneberger et al. 2015", "U-Net: Convolutional Networks for Biomedical Image"),
]


@pytest.mark.parametrize(("stem", "authors", "title"), CITATIONS, ids=[c[0] for c in CITATIONS])
def test_every_modern_spec_cites_its_source(stem, authors, title):
    path = SPECS / f"{stem}.yaml"
    [model] = load_spec(path)
    assert authors in model.description, model.name
    header = path.read_text().split("\nname:")[0]
    assert title in header, f"{path.name}: the header does not cite the paper"
    if stem == "unet":  # not in torchvision: the header cites where its count is printed
        assert "Chlebus" in header and "31,030,658" in header
    else:
        assert f"torchvision/models/{torchvision_file(stem)}" in header, f"{path.name}: no torchvision builder"
        assert "torchvision" in model.description


def torchvision_file(stem: str) -> str:
    base = stem.split("_")[0].replace("resnext50", "resnet").replace("densenet121", "densenet")
    return {"mobilenet": "mobilenetv3.py", "shufflenet": "shufflenetv2.py"}.get(base, f"{base}.py")


def test_the_citations_cover_the_modern_zoo():
    assert [c[0] for c in CITATIONS] == STEMS


# (spec, torchvision `_ops` in GMACs, decimals printed), from the same weights' meta
TORCHVISION_OPS = [
    pytest.param("mobilenet_v3_large", 0.217, 3, id="mobilenet_v3_large"),
    pytest.param("efficientnet_b0", 0.386, 3, id="efficientnet_b0"),
    pytest.param("shufflenet_v2_x1_0", 0.145, 3, id="shufflenet_v2_x1_0"),
    pytest.param("convnext_tiny", 4.456, 3, id="convnext_tiny"),
    pytest.param("densenet121", 2.834, 3, id="densenet121"),
    pytest.param("resnext50_32x4d", 4.23, 2, id="resnext50_32x4d"),
]


@pytest.mark.parametrize(("stem", "gmacs", "decimals"), TORCHVISION_OPS)
def test_macs_match_torchvision_gflops_within_rounding(stem, gmacs, decimals):
    macs = report(stem).totals.macs
    assert abs(macs / 1e9 - gmacs) <= 0.5 * 10**-decimals, f"{macs:,} MACs vs {gmacs} G"


# Papers' own figures that agree with torchvision's network at the printed precision:
# (spec, params in M, digits, MACs in G, digits).
PAPERS = [
    pytest.param("efficientnet_b0", 5.3, 1, 0.39, 2, id="efficientnet_b0-tan-le-table-2"),
    pytest.param("resnext50_32x4d", 25.0, 1, 4.2, 1, id="resnext50-xie-table-1"),
    pytest.param("convnext_tiny", 29, 0, 4.5, 1, id="convnext_tiny-liu-table-1"),
]


@pytest.mark.parametrize(("stem", "mparams", "pdigits", "gmacs", "mdigits"), PAPERS)
def test_papers_figures(stem, mparams, pdigits, gmacs, mdigits):
    totals = report(stem).totals
    assert round(totals.params / 1e6, pdigits) == mparams
    assert round(totals.macs / 1e9, mdigits) == gmacs


def test_mobilenet_v3_and_shufflenet_v2_papers_differ_from_torchvision():
    # Howard et al. 2019, Table 3: MobileNetV3-Large 1.0, 219 M MAdds and 5.4 M params; torchvision's
    # network has 216,589,760 MACs (0.217 G, as it documents) and 5,483,032 params (5.5 M).
    mbv3 = report("mobilenet_v3_large").totals
    assert round(mbv3.macs / 1e6) == 217 != 219
    assert round(mbv3.params / 1e6, 1) == 5.5 != 5.4
    # Ma et al. 2018, Table 5: ShuffleNet v2 1x, 146 M FLOPs (multiply-adds), 2.3 M weights;
    # torchvision's network has 144,907,992 MACs (0.145 G, as it documents) and 2,278,604 params.
    shuffle = report("shufflenet_v2_x1_0").totals
    assert round(shuffle.macs / 1e6) == 145 != 146
    assert round(shuffle.params / 1e6, 1) == 2.3


def test_unet_params_and_macs_by_hand():
    # Ronneberger et al. 2015, Figure 1: per level two 3x3 convs with bias (64 .. 1024), four 2x2
    # up-convolutions halving the channels, the concatenation doubling them again, a 1x1 conv
    # to 2 classes. 1 input channel.
    conv = lambda k, cin, cout: k * k * cin * cout + cout  # noqa: E731 - weights + bias
    widths = (64, 128, 256, 512, 1024)
    contracting = sum(conv(3, cin, w) + conv(3, w, w) for cin, w in zip((1, *widths), widths))
    expansive = sum(conv(2, 2 * w, w) + conv(3, 2 * w, w) + conv(3, w, w) for w in widths[:-1])
    rep = report("unet")
    assert rep.totals.params == contracting + expansive + conv(1, 64, 2) == 31_030_658
    # MACs on 512x512: a 3x3 conv costs H*W*9*Cin*Cout; an up-convolution H*W*Cin*4*Cout over its
    # *input* pixels (the contract's deconv rule, PyTorch's FlopCounterMode's too).
    sides = (512, 256, 128, 64, 32)
    macs = sum(s * s * 9 * (cin * w + w * w) for s, cin, w in zip(sides, (1, *widths), widths))
    macs += sum((s // 2) ** 2 * 2 * w * 4 * w + s * s * 9 * (2 * w * w + w * w)
                for s, w in zip(sides[:-1], widths[:-1]))
    macs += 512 * 512 * 64 * 2
    assert rep.totals.macs == macs == 192_384_335_872
    assert layer(rep, "up4/upconv").cost.macs == 32 * 32 * 1024 * 4 * 512
    assert (layer(rep, "up1/concat").output.channels, layer(rep, "bottom/relu2").output.height) == (128, 32)


def test_mobilenet_v3_squeeze_and_excitation():
    # The SE of torchvision's MobileNetV3 squeezes to _make_divisible(expanded // 4, 8) channels.
    rep = report("mobilenet_v3_large")
    fc1 = [r for r in rep.layers if r.name.endswith("se/fc1")]
    expanded = [72, 120, 120, 480, 672, 672, 960, 960]
    assert [r.output.channels for r in fc1] == [24, 32, 32, 120, 168, 168, 240, 240]
    gates = [r for r in rep.layers if r.type == "mul"]
    assert [r.output.channels for r in gates] == expanded
    # Each SE: two 1x1 convs with bias, no MACs but those of the two convs (C*S each).
    se_params = sum(r.cost.params for r in rep.layers if "/se/" in r.name)
    assert se_params == sum(2 * e * s + e + s for e, s in zip(expanded, [24, 32, 32, 120, 168, 168, 240, 240]))


def test_efficientnet_b0_squeezes_the_block_input_by_4():
    # torchvision: squeeze_channels = max(1, block input channels // 4), not the expanded ones.
    rep = report("efficientnet_b0")
    fc1 = [r.output.channels for r in rep.layers if r.name.endswith("se/fc1")]
    assert fc1 == [8, 4, 6, 6, 10, 10, 20, 20, 20, 28, 28, 28, 48, 48, 48, 48]


def test_shufflenet_v2_splits_and_shuffles():
    rep = report("shufflenet_v2_x1_0")
    assert sum(r.type == "shuffle" for r in rep.layers) == 16  # 4 + 8 + 4 units
    assert sum(r.type == "slice" for r in rep.layers) == 2 * 13  # the 13 stride-1 units split in two
    assert {r.cost.params for r in rep.layers if r.type in ("shuffle", "slice")} == {0}
    assert layer(rep, "stage4/3/unit/cat").output.channels == 464


def test_convnext_tiny_layer_norm_and_layer_scale():
    rep = report("convnext_tiny")
    norms = [r for r in rep.layers if r.type == "layernorm"]
    # stem, 18 blocks, 3 downsamplings, head: 2*C params each, no buffers
    assert len(norms) == 1 + 18 + 3 + 1
    assert all(r.cost.params == 2 * r.output.channels and r.cost.buffers == 0 for r in norms)
    scales = [r for r in rep.layers if r.type == "scale"]
    assert [r.cost.params for r in scales] == [96] * 3 + [192] * 3 + [384] * 9 + [768] * 3


def test_densenet121_grows_by_32_per_layer():
    rep = report("densenet121")
    ends = {b: layer(rep, f"{b}/{n}/layer/cat").output.channels
            for b, n in (("denseblock1", 6), ("denseblock2", 12), ("denseblock3", 24), ("denseblock4", 16))}
    assert ends == {"denseblock1": 64 + 6 * 32, "denseblock2": 128 + 12 * 32,
                    "denseblock3": 256 + 24 * 32, "denseblock4": 512 + 16 * 32}


def test_resnext50_groups_its_3x3_convs():
    rep = report("resnext50_32x4d")
    grouped = [r for r in rep.layers if r.name.endswith("conv2")]
    assert len(grouped) == 16
    # 32 groups: each 3x3 conv has 9 * (width / 32) * width weights.
    assert all(r.cost.params == 9 * r.output.channels // 32 * r.output.channels for r in grouped)
