"""`record`: the frozen, slotted dataclass every IR node, layer type and result of convcost is.

`dataclass(frozen=True, slots=True)` compiles six methods for each class when its module is
imported; over the seventy classes that was a large part of a command's start-up. `record` makes
the same dataclass but shares three of them between all classes: `__eq__` and `__hash__` over the
fields with `compare=True` and `__repr__` over those with `repr=True`, as the generated ones would.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter



def _no_fields(_obj) -> tuple:
    return ()


def _eq(self, other):
    if other.__class__ is self.__class__:
        compared = self.__class__._compared
        return compared(self) == compared(other)
    return NotImplemented


def _hash(self) -> int:
    return hash(self.__class__._compared(self))


def _repr(self) -> str:
    cls = self.__class__
    return f"{cls.__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in cls._shown)})"


def record(cls: type) -> type:
    """`@dataclass(frozen=True, slots=True)`, with ==, hash and repr shared by every record."""
    cls = dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
    names = [f.name for f in fields(cls) if f.compare]
    # One name gives the value itself, more give a tuple: == compares as the generated tuples would.
    cls._compared = attrgetter(*names) if names else _no_fields
    cls._shown = tuple(f.name for f in fields(cls) if f.repr)
    cls.__eq__ = _eq
    cls.__hash__ = _hash
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    return cls
