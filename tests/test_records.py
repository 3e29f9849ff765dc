"""`record` compares, hashes and prints like dataclass(frozen=True, slots=True), field for field."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from conv_cost.graph import Model, Node
from conv_cost.layers import Cost, Shape
from conv_cost.records import record


@record
class Pair:
    """Two compared fields and one that is not."""

    a: int
    b: tuple
    note: str = dataclasses.field(default="", compare=False)


@record
class One:
    """One field."""

    a: int


@record
class Empty:
    """No fields."""


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    """What `record` stands in for."""

    a: int
    b: tuple
    note: str = dataclasses.field(default="", compare=False)


CASES = [((1, (2,)), (1, (2,))), ((1, (2,)), (1, (3,))), ((1, (2,)), (2, (2,))), ((0, ()), (0, ()))]


@pytest.mark.parametrize(("x", "y"), CASES)
def test_equality_and_hash_as_dataclass(x, y):
    assert (Pair(*x) == Pair(*y)) == (Reference(*x) == Reference(*y))
    assert (Pair(*x) != Pair(*y)) == (Reference(*x) != Reference(*y))
    if Pair(*x) == Pair(*y):
        assert hash(Pair(*x)) == hash(Pair(*y))


def test_fields_not_compared_are_ignored():
    assert Pair(1, (2,), "first") == Pair(1, (2,), "second")
    assert hash(Pair(1, (2,), "first")) == hash(Pair(1, (2,), "second"))
    assert {Pair(1, (2,), "first"), Pair(1, (2,), "second")} == {Pair(1, (2,))}


def test_other_classes_are_never_equal():
    assert Pair(1, (2,)) != Reference(1, (2,))
    assert One(1) != 1 and One(1) != (1,)
    assert Empty() == Empty() and hash(Empty()) == hash(Empty()) and Empty() != One(1)


def test_still_a_frozen_slotted_dataclass():
    p = Pair(1, (2,))
    assert dataclasses.is_dataclass(p) and not hasattr(p, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.a = 2  # type: ignore[misc]
    assert dataclasses.replace(p, a=3) == Pair(3, (2,))
    assert pickle.loads(pickle.dumps(One(5))) == One(5)
    assert repr(p) == "Pair(a=1, b=(2,), note='')"


def test_project_types_compare_by_value():
    assert Shape(2, 3, 4) == Shape(2, 3, 4) != Shape(2, 3, 5)
    assert len({Shape(2, 3, 4), Shape(2, 3, 4), Cost(macs=1)}) == 2
    node = Node(name="n", layer=None, inputs=("input",))  # type: ignore[arg-type]
    a = Model(name="m", input=Shape(8, 8, 4), nodes=(node,))
    inferred = dataclasses.replace(a, shapes={"n": Shape(8, 8, 4)})  # the shapes are carried, not compared
    assert a == inferred and hash(a) == hash(inferred)
    assert a != dataclasses.replace(a, input=Shape(8, 8, 3))
    assert "shapes" not in repr(inferred) and repr(Shape(2, 3, 4)) == "Shape(height=2, width=3, channels=4)"
