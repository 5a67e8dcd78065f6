"""The award rule language: parsed once, checked, then evaluated in Python (live) and over numpy arrays (bulk).

A rule is a boolean expression over ``game.<name>`` (the player's line in this game) and
``career.<name>`` (the player's career including this game)::

    game.attempted_attacks >= 1 and game.hits >= 0.75 * game.attempted_attacks
    career.games_played > 1000
    not (game.deaths > 0) and game.kills / game.deaths >= 3

Grammar (lowest precedence first)::

    rule       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | ("game" | "career") "." NAME | "(" rule ")"

Semantics are Python's: stats are integers (int64 values) and integer arithmetic is exact, ``/`` is real
division (correctly rounded to a float), an integer meeting a float is converted to the nearest float, and
comparisons between integers and floats are exact. A division by zero anywhere in the rule makes the whole rule
false for that player and game (even under an ``or`` that would otherwise hold).

Live recording compiles the checked tree to Python (``compile_python``, ``Catalog.evaluate``). Backfill and
explain evaluate the same tree over numpy columns (``osmo.application.rule_arrays``): int64/float64 arithmetic
wherever a range analysis proves it gives the Python result, exact Python arithmetic elsewhere, so both agree on
every line.

Limits, checked by ``parse`` so that a rule that loads can always run:

- a rule is at most ``MAX_RULE_LENGTH`` (1,000) characters;
- parentheses nest at most ``MAX_DEPTH`` (32) deep, and the parsed tree is at most ``MAX_DEPTH`` levels deep:
  names and numbers are one level and every operator adds one (a run of ``and``, or of ``or``, is one operator),
  so ``game.a + game.b + game.c > 1`` is four levels (this also keeps the compiled Python source shallow);
- a number has at most ``MAX_DIGITS`` (15) significant digits and is 0 or between ``10**-15`` and ``10**15``
  (so it is finite, never rounds to 0, and an integer literal is exact as a float);
- where an integer meets a float (an operand of ``/`` or of arithmetic with a decimal) its value stays within
  the float range for every int64 value of the stats (only a product of about 17 stats or more can break this).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Scope = Literal["game", "career"]

COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")

MAX_RULE_LENGTH = 1_000
MAX_DEPTH = 32
MAX_DIGITS = 15
MAX_NUMBER = 10**15
MIN_NUMBER = Decimal(1).scaleb(-15)  # the smallest non-zero number: 0.000000000000001
STAT_RANGE = (-(2**63), 2**63 - 1)  # every game.* and career.* value is an int64


@dataclass(frozen=True, slots=True)
class Num:
    value: int | float


@dataclass(frozen=True, slots=True)
class Ref:
    scope: Scope
    name: str


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node


@dataclass(frozen=True, slots=True)
class Arith:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: Literal["and", "or"]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


Node = Num | Ref | Neg | Arith | Compare | BoolOp | Not

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><=|>=|==|!=|[<>()+\-*/.]))"
)


class RuleSyntaxError(ValueError):
    """A rule does not parse, does not type-check or breaks a limit; the message says where."""


def _tokenize(text: str) -> list[str]:
    """The tokens of ``text``; parentheses nested deeper than MAX_DEPTH are refused here, before any recursion."""
    tokens: list[str] = []
    pos = 0
    depth = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise RuleSyntaxError(f"unexpected character {text[pos:].lstrip()[:1]!r} at column {pos + 1}")
        token = match.group(match.lastgroup or "op")
        if token == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise RuleSyntaxError(f"parentheses nested more than {MAX_DEPTH} deep at column {match.end()}")
        elif token == ")":
            depth -= 1
        tokens.append(token)
        pos = match.end()
    return tokens


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _number(token: str) -> int | float:
    """A number literal within the limits: an int, or a float when written with a fraction."""
    digits = token.replace(".", "").lstrip("0").rstrip("0")
    if len(digits) > MAX_DIGITS:
        raise RuleSyntaxError(f"number {_short(token)} has more than {MAX_DIGITS} significant digits")
    exact = Decimal(token)
    if exact > MAX_NUMBER or 0 < exact < MIN_NUMBER:
        raise RuleSyntaxError(f"number {_short(token)} is out of range: numbers are 0 or between 10**-15 and 10**15")
    return float(token) if "." in token else int(token)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise RuleSyntaxError(f"unexpected end of rule{f', expected {expected!r}' if expected else ''}")
        if expected is not None and token != expected:
            raise RuleSyntaxError(f"expected {expected!r}, found {token!r}")
        self.i += 1
        return token

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise RuleSyntaxError(f"unexpected {self.peek()!r} after a complete expression")
        return node

    def or_(self) -> Node:
        operands = [self.and_()]
        while self.peek() == "or":
            self.take()
            operands.append(self.and_())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def and_(self) -> Node:
        operands = [self.not_()]
        while self.peek() == "and":
            self.take()
            operands.append(self.not_())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def not_(self) -> Node:
        count = 0
        while self.peek() == "not":  # a loop, not recursion: the tree depth is checked after parsing
            self.take()
            count += 1
        node = self.comparison()
        for _ in range(count):
            node = Not(node)
        return node

    def comparison(self) -> Node:
        left = self.sum()
        if self.peek() in COMPARISONS:
            op = self.take()
            right = self.sum()
            if self.peek() in COMPARISONS:
                raise RuleSyntaxError("chained comparisons are not allowed: use 'and'")
            return Compare(op, left, right)
        return left

    def sum(self) -> Node:
        node = self.product()
        while self.peek() in ("+", "-"):
            node = Arith(self.take(), node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek() in ("*", "/"):
            node = Arith(self.take(), node, self.unary())
        return node

    def unary(self) -> Node:
        count = 0
        while self.peek() == "-":
            self.take()
            count += 1
        node = self.atom()
        for _ in range(count):
            node = Neg(node)
        return node

    def atom(self) -> Node:
        token = self.take()
        if token == "(":
            node = self.or_()
            self.take(")")
            return node
        if token[0].isdigit():
            return Num(_number(token))
        if token in ("game", "career"):
            self.take(".")
            name = self.take()
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise RuleSyntaxError(f"expected a stat name after '{token}.', found {name!r}")
            return Ref(token, name)  # type: ignore[arg-type]
        raise RuleSyntaxError(f"unexpected {token!r}: names are written game.<stat> or career.<stat>")


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case Neg(operand) | Not(operand):
            return (operand,)
        case Arith(_, left, right) | Compare(_, left, right):
            return (left, right)
        case BoolOp(_, operands):
            return operands
    return ()


def depth(node: Node) -> int:
    """The depth of the tree (a leaf is 1), computed without recursion so that any tree can be measured."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in _children(current))
    return deepest


def _is_boolean(node: Node) -> bool:
    return isinstance(node, Compare | BoolOp | Not)


def _check(node: Node, names: Mapping[Scope, frozenset[str]], want_bool: bool) -> None:
    if want_bool != _is_boolean(node):
        kind = "a condition (a comparison, and/or/not)" if want_bool else "a number"
        raise RuleSyntaxError(f"expected {kind} where {render(node)!r} stands")
    match node:
        case Ref(scope, name):
            if name not in names[scope]:
                raise RuleSyntaxError(f"unknown name '{scope}.{name}'")
        case Neg(operand):
            _check(operand, names, False)
        case Arith(_, left, right) | Compare(_, left, right):
            _check(left, names, False)
            _check(right, names, False)
        case BoolOp(_, operands):
            for operand in operands:
                _check(operand, names, True)
        case Not(operand):
            _check(operand, names, True)


def span(op: str, left: tuple[int, int], right: tuple[int, int]) -> tuple[int, int]:
    """The exact range of ``left op right`` (``+``, ``-`` or ``*``) for integers in the two ranges."""
    if op == "+":
        return left[0] + right[0], left[1] + right[1]
    if op == "-":
        return left[0] - right[1], left[1] - right[0]
    corners = [a * b for a in left for b in right]
    return min(corners), max(corners)


def _within_floats(bounds: tuple[int, int]) -> bool:
    try:
        float(max(-bounds[0], bounds[1]))  # rounding is monotonic: if the largest converts, all do
    except OverflowError:
        return False
    return True


def _check_float_range(node: Node) -> None:
    """Refuse a rule where an integer that meets a float could be too large for a float (Python would raise
    OverflowError there) for some int64 values of the stats."""

    def integer_range(n: Node) -> tuple[int, int] | None:  # None: the value is a float
        match n:
            case Num(value):
                return (value, value) if isinstance(value, int) else None
            case Ref():
                return STAT_RANGE
            case Neg(operand):
                inner = integer_range(operand)
                return None if inner is None else (-inner[1], -inner[0])
            case Arith(op, left, right):
                a, b = integer_range(left), integer_range(right)
                if a is not None and b is not None and op != "/":
                    return span(op, a, b)
                for side, bounds in ((left, a), (right, b)):
                    if bounds is not None and not _within_floats(bounds):
                        raise RuleSyntaxError(
                            f"{_short(render(side))} can exceed the range of a decimal number (about 1.8e308)"
                            " where it meets a division or a decimal")
                return None
        for child in _children(n):
            integer_range(child)
        return None

    integer_range(node)


def parse(text: str, names: Mapping[Scope, frozenset[str]], *, boolean: bool = True) -> Node:
    """Parse and check ``text`` (names, types and the limits above); ``names`` are the known game and career names."""
    if not isinstance(text, str) or not text.strip():
        raise RuleSyntaxError("a rule must be a non-empty string")
    if len(text) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(f"a rule is at most {MAX_RULE_LENGTH} characters (this one has {len(text)})")
    node = _Parser(text).parse()
    check(node, names, boolean=boolean)
    return node


def check(node: Node, names: Mapping[Scope, frozenset[str]], *, boolean: bool = True) -> None:
    """Check a parsed tree: its depth, names and types, and the float range where integers meet floats.
    (``parse`` checks the text, parentheses and numbers before, and then this.)"""
    if depth(node) > MAX_DEPTH:
        raise RuleSyntaxError(
            f"the rule nests more than {MAX_DEPTH} levels deep (each operator is a level: split long chains)")
    _check(node, names, boolean)
    _check_float_range(node)


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in _children(node):
        yield from walk(child)


def references(node: Node) -> set[tuple[Scope, str]]:
    return {(n.scope, n.name) for n in walk(node) if isinstance(n, Ref)}


def denominators(node: Node) -> list[Node]:
    """Every divisor in the rule, innermost first, so checking them in order never divides by zero."""
    found: list[Node] = []

    def visit(n: Node) -> None:
        for child in _children(n):
            visit(child)
        if isinstance(n, Arith) and n.op == "/":
            found.append(n.right)

    visit(node)
    return found


def render(node: Node) -> str:
    """The rule written back in its own syntax, fully parenthesised where it matters."""
    match node:
        case Num(value):
            return format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)
        case Ref(scope, name):
            return f"{scope}.{name}"
        case Neg(operand):
            return f"-{render(operand)}"
        case Arith(op, left, right) | Compare(op, left, right):
            return f"({render(left)} {op} {render(right)})"
        case BoolOp(op, operands):
            return "(" + f" {op} ".join(render(o) for o in operands) + ")"
        case Not(operand):
            return f"not {render(operand)}"
    raise AssertionError(node)


# -- compilation to Python -----------------------------------------------------------------------

def _python(node: Node, ref: Callable[[Ref], str]) -> str:
    """The node as a Python expression (without the zero-divisor guard)."""
    match node:
        case Num(value):
            return repr(value)
        case Ref():
            return ref(node)
        case Neg(operand):
            return f"(-{_python(operand, ref)})"
        case Arith(op, left, right) | Compare(op, left, right):
            return f"({_python(left, ref)} {op} {_python(right, ref)})"
        case BoolOp(op, operands):
            return "(" + f" {op} ".join(_python(o, ref) for o in operands) + ")"
        case Not(operand):
            return f"(not {_python(operand, ref)})"
    raise AssertionError(node)


def to_python_source(node: Node, ref: Callable[[Ref], str]) -> str:
    """A Python expression with the rule's semantics; ``ref`` names each stat's value."""
    body = _python(node, ref)
    guards = [f"{_python(d, ref)} == 0" for d in denominators(node)]
    if not guards:
        return body
    return f"(False if ({' or '.join(guards)}) else {body})"


def compile_python(node: Node, game_index: Mapping[str, int], career_index: Mapping[str, int]
                   ) -> Callable[[tuple[int, ...] | list[int], tuple[int, ...] | list[int]], bool]:
    """Compile to a function ``f(game_values, career_values) -> bool`` over positional vectors."""

    def ref(r: Ref) -> str:
        return f"g[{game_index[r.name]}]" if r.scope == "game" else f"c[{career_index[r.name]}]"

    source = f"lambda g, c: bool({to_python_source(node, ref)})"
    function: Callable[[tuple[int, ...] | list[int], tuple[int, ...] | list[int]], bool] = eval(
        compile(source, "<rule>", "eval"), {"__builtins__": {"bool": bool, "False": False}}
    )
    return function


def compile_value(node: Node, career_index: Mapping[str, int]
                  ) -> Callable[[tuple[int, ...] | list[int]], float | None]:
    """Compile a numeric career expression to ``f(career_values) -> number`` (None on a zero divisor)."""

    def ref(r: Ref) -> str:
        return f"c[{career_index[r.name]}]"

    source = f"lambda c: {_python(node, ref)}"
    raw: Callable[[tuple[int, ...] | list[int]], float] = eval(
        compile(source, "<progress>", "eval"), {"__builtins__": {}}
    )

    def value(c: tuple[int, ...] | list[int]) -> float | None:
        try:
            return raw(c)
        except ZeroDivisionError:
            return None

    return value


@dataclass(frozen=True, slots=True)
class ProgressSpec:
    """How far a player is from an award: ``current`` (a career expression) against ``target``."""

    expression: Node
    target: int | float


def progress_of(node: Node) -> ProgressSpec | None:
    """The progress of a rule of the form ``<career expression> >= N`` or ``> N``, else None.

    For an integer expression (no division) the target is the smallest integer that satisfies the
    comparison (``> 1000`` gives 1001); a ratio's target is N itself.
    """
    if not isinstance(node, Compare) or node.op not in (">=", ">") or not isinstance(node.right, Num):
        return None
    if any(scope == "game" for scope, _ in references(node.left)) or not references(node.left):
        return None
    bound = node.right.value
    if denominators(node.left):
        return ProgressSpec(node.left, bound)
    target = math.ceil(bound) if node.op == ">=" else math.floor(bound) + 1
    return ProgressSpec(node.left, target)
