"""`convcost verify` and conv_cost.verify: every bundled spec agrees with PyTorch, layer by layer,
and a wrong counting rule is caught and reported."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from conv_cost.layers import window as window_module
from conv_cost.cli import app
from conv_cost.layers import BatchNorm, Conv2d, DepthwiseConv2d, Linear
from conv_cost.spec import load_spec, parse_spec

from .conftest import BUNDLED, SEED, SPECS

NO_TORCH = "PyTorch is not installed (pip install 'convcost[torch]'); the cross-check needs it"


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason=NO_TORCH)


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_there_are_bundled_specs():
    assert len(BUNDLED) >= 9


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_bundled_spec_agrees_with_pytorch(torch, path):
    from conv_cost.verify import verify_model

    for model in load_spec(path):
        check = verify_model(model)
        assert not check.error, check.error
        bad = {layer.name: layer.mismatches for layer in check.layers if layer.mismatches}
        assert bad == {}, f"{model.name}: {bad}"
        assert len(check.layers) == len(model.nodes)


MODERN = """
input: [16, 16, 8]
layers:
  - {type: conv, name: stem, filters: 16, kernel: 3, stride: 2, padding: [0, 1, 0, 1], bias: false}
  - {type: ln, name: norm}
  - {type: scale, name: gamma}
  - {type: hswish, name: act}
  - type: residual
    name: se
    body:
      - {type: dwconv, name: dw, kernel: 3}
      - {type: gap, name: squeeze}
      - {type: conv, name: fc1, filters: 4, kernel: 1}
      - {type: swish, name: a1}
      - {type: conv, name: fc2, filters: 16, kernel: 1}
      - {type: hardsigmoid, name: gate}
      - {type: mul, name: excite, inputs: [dw, gate]}
  - {type: slice, name: left, channels: [0, 8]}
  - {type: slice, name: right, channels: [8, 16], inputs: se}
  - {type: conv, name: branch, filters: 8, kernel: 1, groups: 2}
  - {type: concat, name: join, inputs: [left, branch]}
  - {type: shuffle, name: shuffle, groups: 2}
  - {type: deconv, name: up, filters: 8, kernel: 2, stride: 2}
  - {type: convtranspose, name: up3, filters: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}
  - {type: deconv, name: same, filters: 4, kernel: 3, stride: 2, padding: same, bias: false}
  - {type: upsample, name: near, scale: [1, 2]}
  - {type: upsample, name: bil, size: [40, 70], mode: bilinear}
  - {type: scale, name: affine, bias: true}
"""


def test_the_modern_layer_types_agree_with_pytorch(torch):
    from conv_cost.verify import verify_model

    [model] = parse_spec(MODERN, "modern.yaml")
    check = verify_model(model)
    assert not check.error, check.error
    assert {layer.name: layer.mismatches for layer in check.layers if layer.mismatches} == {}
    types = {n.layer.type for n in model.nodes}
    assert {"deconv", "upsample", "mul", "scale", "shuffle", "slice", "layernorm", "hardsigmoid"} <= types
    # The transposed convs' MACs per input pixel, as FlopCounterMode counts them:
    up = next(layer for layer in check.layers if layer.name == "up")
    assert up.torch.macs == up.convcost.macs == 8 * 8 * 16 * 2 * 2 * 8  # H*W*C*kh*kw*filters on 8x8x16


def test_cli_verify_reports_agreement(torch):
    result = invoke("verify", str(SPECS / "resnet18.yaml"))
    assert result.exit_code == 0, result.output
    first, last = result.stdout.splitlines()
    assert first.startswith("ok resnet18 (")
    assert "68 layers agree with PyTorch" in first
    assert "params 11,689,512" in first and "macs 1,814,073,344" in first
    assert last == "the model agrees with PyTorch"


def test_cli_verify_verbose_lists_every_layer(torch):
    result = invoke("verify", "--verbose", str(SEED))
    assert result.exit_code == 0
    # Output bytes: 28*28*32 elements of 4 and 2 bytes; 28*28*16 likewise.
    assert ("  layer 'conv5x5' (conv): 28x28x32, params 204,832, buffers 0, macs 160,563,200, output bytes 100,352 "
            "(fp32) and 50,176 (fp16): agree") in result.stdout
    assert ("  layer 'reduce' (conv): 28x28x16, params 4,112, buffers 0, macs 3,211,264, output bytes 50,176 (fp32) "
            "and 25,088 (fp16): agree") in result.stdout


# Counting rules broken on purpose: verify must catch each one, on the right layers.
def _conv_without_bias(self, inputs, out):
    cost = ORIGINAL["conv"](self, inputs, out)
    return replace(cost, params=cost.params - (self.filters if self.bias else 0))


def _bn_one_param_per_channel(self, inputs, out):
    return replace(ORIGINAL["bn"](self, inputs, out), params=out.channels)


def _fc_bias_as_mac(self, inputs, out):
    cost = ORIGINAL["fc"](self, inputs, out)
    return replace(cost, macs=cost.macs + (self.units if self.bias else 0))


def _dwconv_as_full_conv(self, inputs, out):
    c = inputs[0].channels
    return Conv2d(c * self.multiplier, self.kernel, self.stride, self.padding, self.dilation, 1, self.bias).cost(
        inputs, out)


ORIGINAL = {"conv": Conv2d.cost, "bn": BatchNorm.cost, "fc": Linear.cost, "dwconv": DepthwiseConv2d.cost}
BROKEN = {
    "conv": (Conv2d, _conv_without_bias, "squeezenet1_0.yaml", "conv1", "params", "14,112", "14,208"),
    "bn": (BatchNorm, _bn_one_param_per_channel, "resnet18.yaml", "bn1", "params", "64", "128"),
    "fc": (Linear, _fc_bias_as_mac, "alexnet.yaml", "fc8", "macs", "4,097,000", "4,096,000"),
    "dwconv": (DepthwiseConv2d, _dwconv_as_full_conv, "mobilenet_v1.yaml", "sep1/dw", "macs",
               f"{112 * 112 * 32 * 3 * 3 * 32:,}", f"{112 * 112 * 32 * 3 * 3:,}"),
}


@pytest.mark.parametrize("rule", BROKEN)
def test_a_broken_counting_rule_is_reported(torch, monkeypatch, rule):
    cls, broken, spec, layer, key, ours, theirs = BROKEN[rule]
    monkeypatch.setattr(cls, "cost", broken)
    result = invoke("verify", str(SPECS / spec))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("MISMATCH ")
    assert f"  layer '{layer}' ({rule}): {key} convcost {ours}, PyTorch {theirs}" in lines
    assert any(line.startswith(f"  total {key}: convcost ") for line in lines)
    assert lines[-1] == "1 of 1 model disagrees with PyTorch"


def test_a_broken_shape_rule_is_reported(torch, monkeypatch):
    # Forget the ceil_mode rounding of pools: SqueezeNet's 3x3/2 pool on 54x54 gives
    # (54 - 3) // 2 + 1 = 26 instead of ceil(51 / 2) + 1 = 27 (pool1, on 109x109, divides evenly).
    original = window_module.conv_axis

    def floor_only(size, k, s, p, d, axis, ceil_mode=False):
        return original(size, k, s, p, d, axis, False)

    monkeypatch.setattr(window_module, "conv_axis", floor_only)
    result = invoke("verify", str(SPECS / "squeezenet1_0.yaml"))
    assert result.exit_code == 1
    assert "  layer 'pool4' (maxpool): shape convcost 26x26x256, PyTorch 27x27x256" in result.stdout.splitlines()


def test_a_model_pytorch_cannot_run_is_reported(torch, monkeypatch):
    from conv_cost import export

    def boom(self, x):
        raise RuntimeError("boom")

    monkeypatch.setattr(export.TorchModel, "forward", boom)
    result = invoke("verify", str(SEED))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("MISMATCH naive (")
    assert result.stdout.splitlines()[0].endswith("): PyTorch could not run the model: boom")
    assert result.stdout.splitlines()[-1] == "2 of 2 models disagree with PyTorch"


def test_verify_reports_spec_errors_with_positions(torch, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [8, 8, 3]\nlayers:\n  - {type: conv, filters: 4}\n")
    result = invoke("verify", str(bad))
    assert result.exit_code == 1
    assert result.stderr == f"{bad}:3:5: error: layer 'conv1' (conv) needs 'kernel'; add kernel: <an integer or [height, width]>\n"
    assert result.stdout == ""


def test_verify_without_torch_is_a_usage_error(monkeypatch):
    # A None entry in sys.modules makes `import torch` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "torch", None)
    result = invoke("verify", str(SPECS / "alexnet.yaml"))
    assert result.exit_code == 2
    assert result.stderr == ("convcost: error: verify needs PyTorch, which is not installed; "
                             "install it with: pip install 'convcost[torch]'\n")
    assert result.stdout == ""


def test_model_check_totals_add_up_rows(torch):
    from conv_cost.verify import verify_model

    [model] = parse_spec("input: [8, 8, 3]\nlayers: [{type: conv, filters: 4, kernel: 3}, {type: bn}]\n")
    check = verify_model(model)
    assert check.ok
    # conv: 3*3*3*4 + 4 = 112 params, 8*8*4*27 = 6,912 MACs; bn: 2*4 params, 2*4 buffers.
    assert check.total("convcost", "params") == check.total("torch", "params") == 112 + 8
    assert check.total("convcost", "buffers") == check.total("torch", "buffers") == 8
    assert check.total("convcost", "macs") == check.total("torch", "macs") == 8 * 8 * 4 * 27
