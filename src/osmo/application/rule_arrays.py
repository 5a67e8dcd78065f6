"""Award rules over numpy columns, with exactly the live result on every line.

Live recording evaluates a rule with the Python code ``Catalog.evaluate`` compiles from the checked tree:
exact integers, ``/`` as real division correctly rounded to a float, an integer meeting a float converted to the
nearest float, exact comparisons between integers and floats, and a zero divisor anywhere making the whole rule
false. Backfill and explain evaluate the same tree here, over millions of lines at once. numpy's int64 wraps and its
int64 -> float64 conversion rounds, so a range analysis first bounds every integer sub-expression (interval
arithmetic from the literals and the actual minimum and maximum of each referenced column in this call), and each
operation takes the fast numpy path only where the ranges prove it gives Python's result:

- integer ``+ - *`` and unary minus: int64 when the result and both operands fit in int64, else Python ints (an
  object array), turned back into int64 once a result fits again;
- an integer meeting a float (an operand of ``/``, of arithmetic with a float, or compared with a float): float64
  when it is within +-2**53, where the conversion is exact, else converted or compared with Python's own int/float
  semantics, element by element;
- integer ``/`` integer: float64 division when both are within +-2**53 (exact operands, and IEEE division rounds
  correctly, as Python's int division does), else Python's int / int line by line;
- float arithmetic and comparisons: float64, the same IEEE doubles as Python's floats.

Sub-expressions without references are computed once with Python's own arithmetic. A zero divisor on a line makes
the rule false on that line; its division uses 1 in its place there, so nothing raises. The catalog only accepts
rules whose integers stay within the float range wherever they meet a float (``rules.parse``), so no conversion
overflows, live or here.

``evaluate`` gives a rule's result per line; ``values`` a numeric expression's value per line (what
``rules.compile_value`` gives live), which also lets the tests compare every intermediate number bit for bit.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from osmo.domain import rules

Bools = npt.NDArray[np.bool_]
Array = npt.NDArray[Any]
Scalar = int | float

INT64 = (-(2**63), 2**63 - 1)
EXACT_IN_FLOAT = 2**53  # every integer of magnitude up to 2**53 is exactly a float64

_ARITH: dict[str, Callable[[Any, Any], Any]] = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


@dataclass(frozen=True, slots=True)
class _Value:
    """A numeric sub-expression on every line.

    ``data`` is a Python int or float (a constant), or an array: int64 or object (Python ints) for an integer,
    float64 for a float. ``bounds`` is the exact range of an integer (None: a float).
    """

    data: Array | Scalar
    bounds: tuple[int, int] | None

    @property
    def constant(self) -> bool:
        return not isinstance(self.data, np.ndarray)


def _fits(bounds: tuple[int, int], low: int, high: int) -> bool:
    return low <= bounds[0] and bounds[1] <= high


def _in_int64(bounds: tuple[int, int]) -> bool:
    return _fits(bounds, *INT64)


def _exact_in_float(bounds: tuple[int, int]) -> bool:
    return _fits(bounds, -EXACT_IN_FLOAT, EXACT_IN_FLOAT)


def _objects(value: _Value) -> Array | Scalar:
    """The value with Python numbers (object arrays), for Python's exact semantics element by element."""
    if isinstance(value.data, np.ndarray) and value.data.dtype != np.object_:
        return value.data.astype(object)  # int64 -> Python int, float64 -> Python float, both exact
    return value.data


def _floats(value: _Value) -> Array | Scalar:
    """The value as Python converts it when it meets a float: float(x), correctly rounded."""
    if value.bounds is None:
        return value.data
    if isinstance(value.data, int):
        return float(value.data)
    assert isinstance(value.data, np.ndarray)
    if value.data.dtype == np.int64 and _exact_in_float(value.bounds):
        return value.data.astype(np.float64)  # exact
    # object -> float64 calls Python's float() on each int: correctly rounded, like Python's int/float operations
    return _objects(value).astype(np.float64)  # type: ignore[union-attr]


def _integer(data: Array | Scalar, bounds: tuple[int, int]) -> _Value:
    """An integer result; an object array goes back to int64 once its range fits."""
    if isinstance(data, np.ndarray) and data.dtype == np.object_ and _in_int64(bounds):
        data = data.astype(np.int64)
    return _Value(data, bounds)


class _Evaluation:
    def __init__(self, column: Callable[[rules.Ref], npt.NDArray[np.int64]], size: int) -> None:
        self.column = column
        self.size = size
        self.columns: dict[rules.Ref, tuple[Array, tuple[int, int]]] = {}
        self.zero: Bools = np.zeros(size, dtype=np.bool_)  # lines with a zero divisor

    def ref(self, ref: rules.Ref) -> _Value:
        if ref not in self.columns:
            values = np.asarray(self.column(ref), dtype=np.int64)
            if values.shape != (self.size,):
                raise ValueError(f"column {ref.scope}.{ref.name} has shape {values.shape}, expected ({self.size},)")
            self.columns[ref] = values, (int(values.min()), int(values.max()))
        values, bounds = self.columns[ref]
        return _Value(values, bounds)

    def number(self, node: rules.Node) -> _Value:
        match node:
            case rules.Num(value):
                return _Value(value, (value, value) if isinstance(value, int) else None)
            case rules.Ref():
                return self.ref(node)
            case rules.Neg(operand):
                return self.negate(self.number(operand))
            case rules.Arith("/", left, right):
                return self.divide(self.number(left), self.number(right))
            case rules.Arith(op, left, right):
                return self.arith(op, self.number(left), self.number(right))
        raise AssertionError(f"not a number: {node!r}")

    def negate(self, value: _Value) -> _Value:
        if value.bounds is None or value.constant:
            return _Value(-value.data, value.bounds and (-value.bounds[1], -value.bounds[0]))
        bounds = (-value.bounds[1], -value.bounds[0])
        if _in_int64(bounds) and _in_int64(value.bounds):
            return _Value(np.negative(value.data), bounds)
        return _integer(-_objects(value), bounds)

    def arith(self, op: str, a: _Value, b: _Value) -> _Value:
        function = _ARITH[op]
        if a.constant and b.constant:  # Python's arithmetic, on the values the compiled rule uses
            result = function(a.data, b.data)
            return _Value(result, (result, result) if isinstance(result, int) else None)
        if a.bounds is None or b.bounds is None:  # a float: IEEE double arithmetic on both sides
            return _Value(np.asarray(function(_floats(a), _floats(b)), dtype=np.float64), None)
        bounds = rules.span(op, a.bounds, b.bounds)
        if _in_int64(bounds) and _in_int64(a.bounds) and _in_int64(b.bounds):
            return _Value(function(a.data, b.data), bounds)  # int64 that cannot wrap
        return _integer(function(_objects(a), _objects(b)), bounds)

    def divide(self, a: _Value, b: _Value) -> _Value:
        zero = self.is_zero(b)
        if a.constant and b.constant:
            return _Value(0.0 if zero else a.data / b.data, None)  # on a zero divisor the rule is false anyway
        if a.bounds is not None and b.bounds is not None and not (
                _exact_in_float(a.bounds) and _exact_in_float(b.bounds)):
            # int / int beyond 2**53: Python's correctly rounded quotient, line by line (1 for a zero divisor)
            divisor = np.where(zero, 1, _objects(b)) if isinstance(zero, np.ndarray) else (1 if zero else b.data)
            quotient = np.asarray(operator.truediv(_objects(a), divisor), dtype=object)
            return _Value(quotient.astype(np.float64), None)
        return _Value(np.asarray(np.true_divide(_floats(a), _floats(b)), dtype=np.float64), None)

    def is_zero(self, divisor: _Value) -> Bools | bool:
        """Whether the divisor is 0 (per line); records those lines as false."""
        if divisor.constant:
            zero = bool(divisor.data == 0)
            if zero:
                self.zero[:] = True
            return zero
        found = np.asarray(divisor.data == 0, dtype=np.bool_)
        self.zero |= found
        return found

    def compare(self, op: str, a: _Value, b: _Value) -> Bools | bool:
        function = _COMPARE[op]
        if a.constant and b.constant:
            return bool(function(a.data, b.data))
        if a.bounds is not None and b.bounds is not None:
            if _in_int64(a.bounds) and _in_int64(b.bounds):
                return np.asarray(function(a.data, b.data), dtype=np.bool_)
            return np.asarray(function(_objects(a), _objects(b)), dtype=np.bool_)
        integer = a.bounds if a.bounds is not None else b.bounds
        if integer is None or _exact_in_float(integer):  # floats, or an integer that converts exactly
            return np.asarray(function(_floats(a), _floats(b)), dtype=np.bool_)
        return np.asarray(function(_objects(a), _objects(b)), dtype=np.bool_)  # Python's exact int/float comparison

    def condition(self, node: rules.Node) -> Bools:
        match node:
            case rules.Compare(op, left, right):
                return self.mask(self.compare(op, self.number(left), self.number(right)))
            case rules.BoolOp(op, operands):
                reduce = np.logical_and.reduce if op == "and" else np.logical_or.reduce
                return self.mask(reduce([self.condition(o) for o in operands]))
            case rules.Not(operand):
                return np.logical_not(self.condition(operand))
        raise AssertionError(f"not a condition: {node!r}")

    def mask(self, result: Bools | bool) -> Bools:
        return np.broadcast_to(np.asarray(result, dtype=np.bool_), (self.size,))


def evaluate(node: rules.Node, column: Callable[[rules.Ref], npt.NDArray[np.int64]], size: int
             ) -> npt.NDArray[np.bool_]:
    """The rule on every line: exactly what the live compiled rule gives for each line's values.

    ``column(ref)`` is the int64 column (length ``size``) of a ``game.*`` or ``career.*`` name.
    """
    if size == 0:
        return np.zeros(0, dtype=np.bool_)
    evaluation = _Evaluation(column, size)
    with np.errstate(all="ignore"):  # inf and nan are IEEE results, as with Python's floats; zero divisors mask
        result = evaluation.condition(node)
    return np.logical_and(result, np.logical_not(evaluation.zero))


def values(node: rules.Node, column: Callable[[rules.Ref], npt.NDArray[np.int64]], size: int
           ) -> list[int | float | None]:
    """A numeric expression on every line, as the Python numbers live evaluation computes for it
    (``rules.compile_value``): None on a line where a divisor is zero."""
    evaluation = _Evaluation(column, size)
    if size == 0:
        return []
    with np.errstate(all="ignore"):
        value = evaluation.number(node)
    numbers: list[int | float] = (
        value.data.tolist() if isinstance(value.data, np.ndarray) else [value.data] * size)
    return [None if zero else number for number, zero in zip(numbers, evaluation.zero.tolist(), strict=True)]
