"""Cross-check convcost against PyTorch, layer by layer: output shapes, parameters, buffers, MACs.

The model is built with export.to_torch and run once on a zero image (batch 1, eval mode).
PyTorch's side of each layer is measured on the layer's own submodule:
- shape: the output tensor (N, C, H, W), read back as H x W x C;
- params: sum(p.numel()) over its parameters, all of them trainable;
- buffers: sum(b.numel()) over its buffers less `num_batches_tracked`, the one-element step
  counter every BatchNorm2d keeps, which convcost does not count (bn has 2*C buffers);
- macs: torch.utils.flop_counter.FlopCounterMode's FLOPs / 2 (it counts a multiply-add of
  a convolution or a matrix product as 2 FLOPs and nothing else);
- output bytes at fp32 and fp16: numel() * element_size() of the output tensor of the float32
  pass, and of a float16 pass of the module on PyTorch's meta device (shapes and dtypes only).

Only this module and export.py import torch, and only when `convcost verify` runs.
"""

from __future__ import annotations

from .cost import Settings, analyze
from .graph import Model
from .layers import Shape
from .records import record

CHECKED = ("shape", "params", "buffers", "macs", "output_bytes_fp32", "output_bytes_fp16")
INSTALL_HINT = "install it with: pip install 'convcost[torch]'"


class TorchMissing(ImportError):
    """PyTorch is not installed: `verify` cannot run (a usage error)."""


def require_torch() -> str:
    """The installed PyTorch version; TorchMissing if there is none."""
    import warnings

    try:
        with warnings.catch_warnings():
            # A torch wheel without numpy beside it warns on import; verify never needs numpy.
            warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
            import torch
    except ImportError:
        raise TorchMissing(f"verify needs PyTorch, which is not installed; {INSTALL_HINT}") from None
    return str(torch.__version__)


@record
class Counts:
    """What one side says of one layer."""

    shape: Shape
    params: int
    buffers: int
    macs: int
    output_bytes_fp32: int = 0
    output_bytes_fp16: int = 0


@record
class LayerCheck:
    name: str
    type: str
    convcost: Counts
    torch: Counts

    @property
    def mismatches(self) -> tuple[str, ...]:
        """The checked quantities on which the two sides disagree."""
        return tuple(k for k in CHECKED if getattr(self.convcost, k) != getattr(self.torch, k))


@record
class ModelCheck:
    name: str
    source: str
    layers: tuple[LayerCheck, ...]
    error: str = ""  # PyTorch could not build or run the model

    @property
    def ok(self) -> bool:
        return not self.error and not any(layer.mismatches for layer in self.layers)

    def total(self, side: str, key: str) -> int:
        return sum(getattr(getattr(layer, side), key) for layer in self.layers)


def torch_counts(model: Model) -> dict[str, Counts]:
    """PyTorch's shape, params, buffers and MACs of every node, from one forward pass on zeros."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .export import to_torch

    module = to_torch(model).eval()
    shapes: dict[str, tuple[int, ...]] = {}
    sizes: dict[str, int] = {}
    hooks = []
    for name, key in module.key_of.items():
        def record(_mod, _args, out, name=name):
            shapes[name] = tuple(out.shape)
            sizes[name] = out.numel() * out.element_size()
        hooks.append(module.layers[key].register_forward_hook(record))
    x = model.input
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(torch.zeros(1, x.channels, x.height, x.width))
    for hook in hooks:
        hook.remove()
    flops = counter.get_flop_counts()
    prefix = f"{type(module).__name__}.layers."
    half = half_output_bytes(module, model)
    out = {}
    for name, key in module.key_of.items():
        sub = module.layers[key]
        _, c, h, w = shapes[name]
        out[name] = Counts(
            shape=Shape(h, w, c),
            params=sum(p.numel() for p in sub.parameters()),
            buffers=sum(b.numel() for n, b in sub.named_buffers() if not n.endswith("num_batches_tracked")),
            macs=sum(flops.get(prefix + key, {}).values()) // 2,
            output_bytes_fp32=sizes[name],
            output_bytes_fp16=half[name],
        )
    return out


def half_output_bytes(module, model: Model) -> dict[str, int]:
    """numel() * element_size() of every layer's output in a float16 pass on PyTorch's meta device,
    which carries shapes and dtypes through every op without computing (a float16 convolution on a
    CPU takes minutes for a U-Net)."""
    import copy

    import torch

    meta = copy.deepcopy(module).to(device="meta", dtype=torch.float16)
    x = model.input
    values = {"input": torch.zeros(1, x.channels, x.height, x.width, dtype=torch.float16, device="meta")}
    sizes = {}
    with torch.no_grad():
        for step in meta.steps:
            y = meta.layers[step.key](*(values[i] for i in step.inputs))
            values[step.name] = y
            sizes[step.name] = y.numel() * y.element_size()
    return sizes


def verify_model(model: Model) -> ModelCheck:
    """Compare convcost's counts of every layer of a model with PyTorch's."""
    report = analyze(model)
    half = analyze(model, Settings(dtype="fp16"))
    try:
        theirs = torch_counts(model)
    except (RuntimeError, ValueError, TypeError) as exc:
        # A model PyTorch cannot build or run is a disagreement, reported, never a traceback.
        return ModelCheck(model.name, model.source, (), f"PyTorch could not run the model: {exc}")
    rows = tuple(
        LayerCheck(row.name, row.type,
                   Counts(row.output, row.cost.params, row.cost.buffers, row.cost.macs, row.bytes.output_bytes,
                          h.bytes.output_bytes), theirs[row.name])
        for row, h in zip(report.layers, half.layers)
    )
    return ModelCheck(model.name, model.source, rows)


def _value(counts: Counts, key: str) -> str:
    v = getattr(counts, key)
    return str(v) if key == "shape" else f"{v:,}"


def render_checks(checks: list[ModelCheck], torch_version: str, verbose: bool = False) -> str:
    """A plain-text report: one summary per model, every disagreement on its own line."""
    lines: list[str] = []
    for check in checks:
        title = f"{check.name} ({check.source})"
        if check.error:
            lines.append(f"MISMATCH {title}: {check.error}")
            continue
        bad = [layer for layer in check.layers if layer.mismatches]
        totals = ", ".join(f"{k} {check.total('convcost', k):,}" for k in CHECKED[1:4])
        if not bad:
            n = len(check.layers)
            lines.append(f"ok {title}: {'1 layer agrees' if n == 1 else f'{n} layers agree'} with PyTorch "
                         f"{torch_version}; {totals}")
        else:
            n = len(check.layers)
            lines.append(f"MISMATCH {title}: {len(bad)} of {n} layer{'s' if n != 1 else ''} "
                         f"{'disagrees' if len(bad) == 1 else 'disagree'} with PyTorch {torch_version}")
        for layer in check.layers:
            for key in layer.mismatches:
                lines.append(f"  layer '{layer.name}' ({layer.type}): {key} convcost {_value(layer.convcost, key)}, "
                             f"PyTorch {_value(layer.torch, key)}")
            if verbose and not layer.mismatches:
                c = layer.convcost
                lines.append(f"  layer '{layer.name}' ({layer.type}): {c.shape}, params {c.params:,}, "
                             f"buffers {c.buffers:,}, macs {c.macs:,}, output bytes {c.output_bytes_fp32:,} (fp32) "
                             f"and {c.output_bytes_fp16:,} (fp16): agree")
        if bad:
            for key in CHECKED[1:]:
                mine, theirs = check.total("convcost", key), check.total("torch", key)
                if mine != theirs:
                    lines.append(f"  total {key}: convcost {mine:,}, PyTorch {theirs:,}")
    failed = sum(not c.ok for c in checks)
    if failed:
        lines.append(f"{failed} of {len(checks)} model{'s' if len(checks) != 1 else ''} "
                     f"{'disagrees' if failed == 1 else 'disagree'} with PyTorch")
    else:
        lines.append("the model agrees with PyTorch" if len(checks) == 1 else f"all {len(checks)} models agree with PyTorch")
    return "\n".join(lines) + "\n"
