"""The award rule language: parsed once, type-checked, then compiled to Python and to SQL.

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

Semantics: stats are integers, ``/`` is real division, and a division by zero anywhere in the rule
makes the whole rule false for that player and game (even under an ``or`` that would otherwise hold).
Python evaluation and SQL evaluation implement exactly these semantics, so live evaluation and
database backfill agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from osmo.domain.errors import InvalidCatalog

Scope = Literal["game", "career"]
Dialect = Literal["sqlite", "postgres"]

COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")


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
    """A rule does not parse or does not type-check; the message says where."""


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise RuleSyntaxError(f"unexpected character {text[pos:].lstrip()[:1]!r} at column {pos + 1}")
        tokens.append(match.group(match.lastgroup or "op"))
        pos = match.end()
    return tokens


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
        if self.peek() == "not":
            self.take()
            return Not(self.not_())
        return self.comparison()

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
        if self.peek() == "-":
            self.take()
            return Neg(self.unary())
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token == "(":
            node = self.or_()
            self.take(")")
            return node
        if token[0].isdigit():
            return Num(float(token) if "." in token else int(token))
        if token in ("game", "career"):
            self.take(".")
            name = self.take()
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise RuleSyntaxError(f"expected a stat name after '{token}.', found {name!r}")
            return Ref(token, name)  # type: ignore[arg-type]
        raise RuleSyntaxError(f"unexpected {token!r}: names are written game.<stat> or career.<stat>")


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


def parse(text: str, names: Mapping[Scope, frozenset[str]], *, boolean: bool = True) -> Node:
    """Parse and type-check ``text``; ``names`` are the known game and career names."""
    if not isinstance(text, str) or not text.strip():
        raise RuleSyntaxError("a rule must be a non-empty string")
    node = _Parser(text).parse()
    _check(node, names, boolean)
    return node


def walk(node: Node) -> Iterator[Node]:
    yield node
    match node:
        case Neg(operand) | Not(operand):
            yield from walk(operand)
        case Arith(_, left, right) | Compare(_, left, right):
            yield from walk(left)
            yield from walk(right)
        case BoolOp(_, operands):
            for operand in operands:
                yield from walk(operand)


def references(node: Node) -> set[tuple[Scope, str]]:
    return {(n.scope, n.name) for n in walk(node) if isinstance(n, Ref)}


def denominators(node: Node) -> list[Node]:
    """Every divisor in the rule, innermost first, so checking them in order never divides by zero."""
    found: list[Node] = []

    def visit(n: Node) -> None:
        match n:
            case Neg(operand) | Not(operand):
                visit(operand)
            case Arith(op, left, right) | Compare(op, left, right):
                visit(left)
                visit(right)
                if op == "/":
                    found.append(right)
            case BoolOp(_, operands):
                for operand in operands:
                    visit(operand)

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


# -- compilation ---------------------------------------------------------------------------------

def _emit(node: Node, ref: Callable[[Ref], str], number: Callable[[int | float], str],
          divide: Callable[[str, str], str], words: tuple[str, str, str], eq: str) -> str:
    def go(n: Node) -> str:
        match n:
            case Num(value):
                return number(value)
            case Ref():
                return ref(n)
            case Neg(operand):
                return f"(-{go(operand)})"
            case Arith("/", left, right):
                return divide(go(left), go(right))
            case Arith(op, left, right):
                return f"({go(left)} {op} {go(right)})"
            case Compare(op, left, right):
                return f"({go(left)} {eq if op == '==' else op} {go(right)})"
            case BoolOp(op, operands):
                word = words[0] if op == "and" else words[1]
                return "(" + f" {word} ".join(go(o) for o in operands) + ")"
            case Not(operand):
                return f"({words[2]} {go(operand)})"
        raise AssertionError(n)

    return go(node)


def to_python_source(node: Node, ref: Callable[[Ref], str]) -> str:
    """A Python expression with the rule's semantics; ``ref`` names each stat's value."""
    body = _emit(node, ref, repr, lambda a, b: f"({a} / {b})", ("and", "or", "not"), "==")
    guards = [
        _emit(d, ref, repr, lambda a, b: f"({a} / {b})", ("and", "or", "not"), "==") + " == 0"
        for d in denominators(node)
    ]
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

    body = _emit(node, ref, repr, lambda a, b: f"({a} / {b})", ("and", "or", "not"), "==")
    source = f"lambda c: {body}"
    raw: Callable[[tuple[int, ...] | list[int]], float] = eval(
        compile(source, "<progress>", "eval"), {"__builtins__": {}}
    )

    def value(c: tuple[int, ...] | list[int]) -> float | None:
        try:
            return raw(c)
        except ZeroDivisionError:
            return None

    return value


def to_sql(node: Node, column: Callable[[Ref], str], dialect: Dialect = "sqlite") -> str:
    """A SQL boolean expression with the rule's semantics; ``column`` names each stat's column.

    Divisions become ``CAST(a AS REAL) / NULLIF(b, 0)`` and the whole expression is guarded by
    ``b <> 0`` for every divisor, so a zero divisor makes it false (never NULL, never an error).
    """
    real = "REAL" if dialect == "sqlite" else "DOUBLE PRECISION"

    def divide(a: str, b: str) -> str:
        return f"(CAST({a} AS {real}) / NULLIF({b}, 0))"

    def emit(n: Node) -> str:
        return _emit(n, column, _sql_number, divide, ("AND", "OR", "NOT"), "=")

    guards = [f"({emit(d)} <> 0)" for d in denominators(node)]
    body = emit(node)
    return "(" + " AND ".join([*guards, body]) + ")" if guards else body


def _sql_number(value: int | float) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidCatalog(f"number {value!r} cannot be used in a rule")
        return repr(value)
    return str(value)


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
