"""Round trips through PyTorch's ONNX exporter: every bundled spec -> to_torch -> torch.onnx.export ->
convcost import gives the same params, buffers, MACs and FLOPs, layer by layer; and networks
written in PyTorch the way torchvision writes them import to PyTorch's own counts."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install 'convcost[torch]')")
pytest.importorskip("onnx", reason="onnx is not installed (pip install 'convcost[onnx]')")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from conv_cost.cost import analyze  # noqa: E402
from conv_cost.export import to_torch  # noqa: E402
from conv_cost.onnx_import import import_onnx  # noqa: E402
from conv_cost.spec import load_spec, parse_spec, read_specs  # noqa: E402

from .conftest import BUNDLED, SPECS, run_cli  # noqa: E402

MODELS = [(path.stem, i) for path in BUNDLED
          for i, _ in enumerate(load_spec(path))]
COUNTED = ("params", "buffers", "macs", "flops")


def export(module, shape, path, **options) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module, torch.zeros(1, *shape), str(path), dynamo=False, **options)
    return str(path)


def imported(path: str):
    [model] = parse_spec(import_onnx(path).text, path)
    return model


def counts(cost) -> tuple[int, ...]:
    return tuple(getattr(cost, k) for k in COUNTED)


@pytest.mark.parametrize(("stem", "index"), MODELS, ids=[f"{s}-{i}" for s, i in MODELS])
def test_bundled_specs_survive_the_round_trip_layer_by_layer(tmp_path, stem, index):
    model = load_spec(SPECS / f"{stem}.yaml")[index]
    module = to_torch(model).eval()
    x = model.input
    # Without constant folding PyTorch keeps every BatchNorm as it is (folding would merge it into
    # the conv before it); it still writes its shape arithmetic, pads and LRN as many small nodes.
    path = export(module, (x.channels, x.height, x.width), tmp_path / f"{stem}.onnx", do_constant_folding=False)
    ours = {row.name: row for row in analyze(model).layers}
    theirs = analyze(imported(path))
    name_of = {key: name for name, key in module.key_of.items()}  # torch submodule n<i> -> spec layer
    seen = set()
    for row in theirs.layers:
        original = name_of[row.name.split(".")[0].split("_")[0]]
        assert original not in seen or not any(counts(row.cost)), f"{row.name} maps to {original} twice"
        seen.add(original)
        assert counts(row.cost) == counts(ours[original].cost), (row.name, original)
    # Layers that vanish from the export (dropout in eval mode, identity) count nothing.
    for name, row in ours.items():
        assert name in seen or not any(counts(row.cost)), name
    assert counts(theirs.totals) == counts(analyze(model).totals)


PADDINGS = {
    "same conv, odd pixel after": "[{type: conv, filters: 4, kernel: 3, stride: 2, padding: same}]",
    "same max pool (-inf padding)": "[{type: maxpool, kernel: 3, stride: 2, padding: same}]",
    "same average pool (divided by real inputs)": "[{type: avgpool, kernel: 3, stride: 2, padding: same}]",
    "four-sided padding": "[{type: conv, filters: 4, kernel: 3, padding: [0, 2, 1, 1]}]",
    "same dwconv, even kernel": "[{type: dwconv, kernel: 2, padding: same}]",
}


@pytest.mark.parametrize("case", PADDINGS, ids=list(PADDINGS))
def test_paddings_survive_the_round_trip(tmp_path, case):
    [model] = parse_spec(f"input: [9, 10, 3]\nlayers: {PADDINGS[case]}\n", "<test>")
    x = model.input
    path = export(to_torch(model).eval(), (x.channels, x.height, x.width), tmp_path / "p.onnx",
                  do_constant_folding=False)
    [layer] = imported(path).nodes
    assert layer.layer == model.nodes[0].layer
    assert analyze(imported(path)).totals == analyze(model).totals


@pytest.mark.parametrize("stem", ["alexnet", "googlenet", "squeezenet1_0"])
def test_training_mode_export_keeps_dropout_and_every_count(tmp_path, stem):
    """Exported in training mode, dropout stays in the graph: all five totals agree, activations too."""
    for i, model in enumerate(load_spec(SPECS / f"{stem}.yaml")):
        x = model.input
        path = export(to_torch(model).train(), (x.channels, x.height, x.width), tmp_path / f"{stem}{i}.onnx",
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
        assert analyze(imported(path)).totals == analyze(model).totals


def test_a_default_export_counts_what_the_file_holds(tmp_path):
    """Constant folding (the default) merges each BatchNorm into the conv before it: the conv gains a
    bias of F values, the BatchNorm's 2C parameters and 2C buffers disappear, and so does its work."""
    [model] = load_spec(SPECS / "resnet18.yaml")
    x = model.input
    path = export(to_torch(model).eval(), (x.channels, x.height, x.width), tmp_path / "folded.onnx")
    rows = analyze(model).layers
    params = sum(r.cost.params for r in rows if r.type != "bn") + sum(r.output.channels for r in rows
                                                                      if r.type == "bn")
    flops = sum(r.cost.flops for r in rows if r.type != "bn") + sum(r.output.elements for r in rows
                                                                    if r.type == "bn")
    got = analyze(imported(path))
    assert "bn" not in {r.type for r in got.layers}
    assert (got.totals.params, got.totals.buffers, got.totals.macs, got.totals.flops) == (
        params, 0, analyze(model).totals.macs, flops)


# ---------------------------------------------------------------------- networks written in PyTorch


class SqueezeExcite(nn.Module):
    def __init__(self, c, r, act, gate):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, r, 1), nn.Conv2d(r, c, 1)
        self.activation, self.scale_activation = act(), gate()

    def forward(self, x):
        return x * self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))


class MobileNetV3Block(nn.Module):
    """torchvision's InvertedResidual of MobileNetV3: expand, depthwise, SE (hardsigmoid), project."""

    def __init__(self):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(16, 64, 1, bias=False), nn.BatchNorm2d(64), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(64, 64, 5, 2, 2, groups=64, bias=False), nn.BatchNorm2d(64), nn.Hardswish())
        self.se = SqueezeExcite(64, 16, nn.ReLU, nn.Hardsigmoid)
        self.project = nn.Sequential(nn.Conv2d(64, 24, 1, bias=False), nn.BatchNorm2d(24))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 32), nn.Hardswish(),
                                  nn.Dropout(0.2), nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.project(self.se(self.dw(self.expand(x)))))


class EfficientNetBlock(nn.Module):
    """MBConv with SiLU and a sigmoid SE, and a residual."""

    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(16, 96, 1, bias=False), nn.BatchNorm2d(96), nn.SiLU(),
                                   nn.Conv2d(96, 96, 3, 1, 1, groups=96, bias=False), nn.BatchNorm2d(96), nn.SiLU(),
                                   SqueezeExcite(96, 4, nn.SiLU, nn.Sigmoid),
                                   nn.Conv2d(96, 16, 1, bias=False), nn.BatchNorm2d(16))

    def forward(self, x):
        return x + self.block(x)


class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """torchvision's CNBlock: depthwise 7x7, channels-last LayerNorm, Linear, GELU, Linear, layer scale."""

    def __init__(self, c=16):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(c, c, 7, padding=3, groups=c))
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1, self.act, self.pwconv2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
        self.layer_scale = nn.Parameter(torch.ones(c, 1, 1) * 1e-6)
        self.downsample = nn.Sequential(LayerNorm2d(c), nn.Conv2d(c, 2 * c, 2, 2))

    def forward(self, x):
        y = self.block(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y)))).permute(0, 3, 1, 2)
        return self.downsample(x + self.layer_scale * y)


def channel_shuffle(x, groups):
    n, c, h, w = x.size()
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)


class ShuffleNetV2Unit(nn.Module):
    """torchvision's InvertedResidual of ShuffleNetV2 (stride 1): chunk, one branch, concat, shuffle."""

    def __init__(self, c=16):
        super().__init__()
        h = c // 2
        self.branch2 = nn.Sequential(nn.Conv2d(h, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU(),
                                     nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False), nn.BatchNorm2d(h),
                                     nn.Conv2d(h, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU())

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((x1, self.branch2(x2)), dim=1), 2)


class UNetUp(nn.Module):
    """An up-convolution, a skip concat and a bilinear resize, as segmentation nets write them."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(16, 32, 3, 2, 1)
        self.up = nn.ConvTranspose2d(32, 16, 2, 2)
        self.conv = nn.Conv2d(32, 8, 3, padding=1)

    def forward(self, x):
        y = torch.cat([x, self.up(F.relu(self.down(x)))], dim=1)
        return F.interpolate(self.conv(y), scale_factor=2, mode="bilinear", align_corners=False)


class DenseInception(nn.Module):
    """DenseNet's BN-ReLU-conv and concat, Inception's 3x3/1 average pool, a max pool with ceil_mode."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU(inplace=True), nn.Conv2d(16, 8, 3, padding=1,
                                                                                         bias=False))
        self.pool = nn.AvgPool2d(3, 1, 1)
        self.down = nn.MaxPool2d(3, 2, ceil_mode=True)

    def forward(self, x):
        return self.down(torch.cat([x, self.layer(x), self.pool(x)], 1))


class ASPP(nn.Module):
    """DeepLabV3's ASPP: dilated branches, image pooling resized to the input's size (computed from its
    shape), concat, projection; a dict output resized to a fixed size."""

    def __init__(self):
        super().__init__()
        self.b0 = nn.Sequential(nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.b1 = nn.Sequential(nn.Conv2d(16, 8, 3, padding=2, dilation=2, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU())
        self.project = nn.Sequential(nn.Conv2d(24, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5))

    def forward(self, x):
        pooled = F.interpolate(self.pool(x), size=x.shape[-2:], mode="bilinear", align_corners=False)
        y = self.project(torch.cat([self.b0(x), self.b1(x), pooled], 1))
        return {"out": F.interpolate(y, size=(32, 32), mode="bilinear", align_corners=False)}


class UNetPadUp(nn.Module):
    """A U-Net "Up" step as commonly written: upsample, pad to the skip's size (sizes from shapes), concat."""

    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = nn.Conv2d(32, 8, 3, padding=1)

    def forward(self, x):
        x1 = self.up(F.max_pool2d(x, 2))
        dy, dx = x.size()[2] - x1.size()[2], x.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x, x1], dim=1))


class ShuffleNetV2Down(nn.Module):
    """ShuffleNetV2's stride-2 unit, and its head: x.mean([2, 3]) and a Linear."""

    def __init__(self, c=16):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(c, c, 3, 2, 1, groups=c, bias=False), nn.BatchNorm2d(c),
                                     nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.branch2 = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                                     nn.Conv2d(c, c, 3, 2, 1, groups=c, bias=False), nn.BatchNorm2d(c),
                                     nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.fc = nn.Linear(2 * c, 10)

    def forward(self, x):
        return self.fc(channel_shuffle(torch.cat((self.branch1(x), self.branch2(x)), dim=1), 2).mean([2, 3]))


class VGGHead(nn.Module):
    """VGG's adaptive pool to 7x7 (an average pool here), x.view(x.size(0), -1) and the classifier."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.classifier = nn.Sequential(nn.Linear(8 * 4 * 4, 32), nn.ReLU(True), nn.Dropout(), nn.Linear(32, 10))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.view(x.size(0), -1))


NETWORKS = {"mobilenet_v3": MobileNetV3Block, "efficientnet": EfficientNetBlock, "convnext": ConvNeXtBlock,
            "shufflenet_v2": ShuffleNetV2Unit, "shufflenet_v2_down": ShuffleNetV2Down, "unet": UNetUp,
            "unet_pad": UNetPadUp, "deeplab_aspp": ASPP, "vgg_head": VGGHead, "dense_inception": DenseInception}


def pytorch_counts(module, shape) -> tuple[int, int, int]:
    """PyTorch's own: parameters, buffers (without BatchNorm's step counter), MACs (FlopCounterMode / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(torch.zeros(1, *shape))
    return (sum(p.numel() for p in module.parameters()),
            sum(b.numel() for n, b in module.named_buffers() if not n.endswith("num_batches_tracked")),
            counter.get_total_flops() // 2)


# GELU is Div-Erf-Add-Mul-Mul before opset 20, one op from it; LayerNorm is written out before opset 17;
# HardSwish is x * HardSigmoid(x) before opset 14; pads, axes and scales move from attributes to inputs.
@pytest.mark.parametrize("opset", [11, 14, 17, 20])
@pytest.mark.parametrize("name", NETWORKS)
def test_networks_written_in_pytorch_import_to_pytorchs_counts(tmp_path, name, opset):
    torch.manual_seed(0)
    module = NETWORKS[name]().eval()
    shape = (16, 16, 16)
    path = export(module, shape, tmp_path / f"{name}.onnx", do_constant_folding=False, opset_version=opset,
                  input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    got = analyze(imported(path)).totals
    assert (got.params, got.buffers, got.macs) == pytorch_counts(module, shape)


def conv_bn_pairs(module):
    """(conv, batch norm) pairs, one right after the other in a Sequential: what exporters fold."""
    for seq in module.modules():
        if isinstance(seq, nn.Sequential):
            for a, b in zip(seq, list(seq)[1:]):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    yield a, b


@pytest.mark.parametrize("name", NETWORKS)
def test_the_default_dynamo_export_counts_what_the_file_holds(tmp_path, name):
    """torch.onnx.export's default exporter (dynamo) folds each BatchNorm that follows a conv into it."""
    pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")
    import logging

    torch.manual_seed(0)
    module = NETWORKS[name]().eval()
    with torch.no_grad():  # trained-looking statistics, so that no folded bias is all zeros
        for _, bn in conv_bn_pairs(module):
            bn.running_mean.uniform_(-1, 1)
            bn.bias.uniform_(-1, 1)
    shape = (16, 16, 16)
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (torch.zeros(1, *shape),), str(tmp_path / "d.onnx"), dynamo=True)
    finally:
        logging.disable(logging.NOTSET)
    params, buffers, macs = pytorch_counts(module, shape)
    for conv, bn in conv_bn_pairs(module):
        c = bn.num_features
        params += -2 * c + (0 if conv.bias is not None else c)
        buffers -= 2 * c
    got = analyze(imported(str(tmp_path / "d.onnx"))).totals
    assert (got.params, got.buffers, got.macs) == (params, buffers, macs)


def test_pytorch_names_read_like_the_network(tmp_path):
    module = MobileNetV3Block().eval()
    path = export(module, (16, 16, 16), tmp_path / "m.onnx", do_constant_folding=False)
    names = [(r.type, r.name) for r in analyze(imported(path)).layers]
    assert names[:8] == [("conv", "expand.0"), ("bn", "expand.1"), ("hardswish", "expand.2"),
                         ("dwconv", "dw.0"), ("bn", "dw.1"), ("hardswish", "dw.2"), ("gap", "se.avgpool"),
                         ("conv", "se.fc1")]
    assert ("mul", "se.mul") in names


def test_verify_and_report_read_an_export(tmp_path):
    module = ShuffleNetV2Unit().eval()
    path = export(module, (16, 16, 16), tmp_path / "s.onnx", do_constant_folding=False)
    result = run_cli(["verify", path])
    assert result.exit_code == 0, result.stdout + result.stderr
    [spec] = read_specs([path])
    [model] = spec.models
    assert analyze(model).totals.params == pytorch_counts(module, (16, 16, 16))[0]
