"""Values computed from constants: shape arithmetic, pads, scales (onnx's reference evaluator).

Exporters compute many attributes at run time from the input's shape (PyTorch's `chunk` writes
Shape-Gather-Div-Slice, its pads a dozen nodes). With every shape known, these are constants;
they are evaluated here, one node at a time, with onnx.reference's implementation of each op.
Sizes are checked before anything is computed, so a hostile graph cannot make a huge tensor.
"""

from __future__ import annotations

from functools import cache

from .reader import MAX_VALUE_ELEMENTS, OnnxImportError, short

# Ops evaluated on constant inputs. Each is cheap and its output no larger than its inputs or
# than the output shape checked beforehand.
FOLDABLE = frozenset("""
Abs Add And AveragePool Cast CastLike Ceil Clip Concat Constant ConstantOfShape Div Equal Erf Expand Flatten
Floor Gather GatherElements Greater GreaterOrEqual Identity Less LessOrEqual Max MaxPool Min Mod Mul Neg Not Or
Pad Pow Range Reciprocal ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum Relu Reshape Shape Sigmoid Sign
Size Slice Split Sqrt Squeeze Sub Sum Tile Transpose Unsqueeze Where Xor
""".split())


@cache
def _implementation(op_type: str, version: int):
    from onnx.reference.ops import load_op

    return load_op("", op_type, version)


def _params(opset: int) -> dict:
    from onnx.reference import ReferenceEvaluator

    return {"log": lambda *args: None, "opsets": {"": opset}, "verbose": 0, "new_ops": None,
            "existing_functions": {}, "evaluator_cls": ReferenceEvaluator}


def evaluate(node, values: list, opset: int, out_sizes: list[int | None]) -> list:
    """The outputs of `node` on constant inputs (numpy arrays; None for an omitted optional input)."""
    import numpy as np

    if any(n is None or n > MAX_VALUE_ELEMENTS for n in out_sizes):
        raise OnnxImportError(f"node '{short(node.name)}' ({node.op_type}) would compute a constant of unknown "
                              f"or more than {MAX_VALUE_ELEMENTS:,} elements; convcost evaluates only small ones")
    try:
        op = _implementation(node.op_type, opset)(node, _params(opset))
        outputs = op.run(*values)
    except OnnxImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - the reference implementation raises anything on bad input
        raise OnnxImportError(f"node '{short(node.name)}' ({node.op_type}) cannot be evaluated on its constant "
                              f"inputs: {short(exc, 160)}") from None
    if not isinstance(outputs, (tuple, list)):
        outputs = (outputs,)
    result = []
    for out in outputs:
        array = np.asarray(out)
        if array.size > MAX_VALUE_ELEMENTS:
            raise OnnxImportError(f"node '{short(node.name)}' ({node.op_type}) computes a constant of "
                                  f"{array.size:,} elements; convcost evaluates only small ones")
        result.append(array)
    return result
