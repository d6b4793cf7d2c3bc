"""Parse a formula typed by a user (``"tanh(w*x + b)**2"``) into a symgrad expression.

The text is read by Python's ``ast`` parser and then *interpreted* here, node by node, against
a closed list of what a formula may contain: numbers, names, ``+ - * / **``, unary ``+ -``,
one comparison (``<  <=  >  >=``) and calls of the op table's functions. Anything else
(attributes, subscripts, lambdas, keyword arguments, strings ...) is a ``ParseError`` naming
the offending piece. Nothing is ever passed to ``eval``/``exec``, so a hostile string can at
worst be rejected. The walk over the syntax tree is iterative, like every other walk here.
"""

from __future__ import annotations

import ast
import math

from .ir import Expr, as_expr, make, symbol
from .ops import INFO, Op

MAX_LENGTH = 100_000

FUNCTIONS: dict[str, Op] = {info.fn_name: op for op, info in INFO.items() if info.fn_name}
"""The functions a formula may call: the op table's, by their ``sg`` names, and ``abs``."""
FUNCTIONS["abs"] = Op.ABS

_BINOPS: dict[type, Op] = {
    ast.Add: Op.ADD,
    ast.Sub: Op.SUB,
    ast.Mult: Op.MUL,
    ast.Div: Op.DIV,
    ast.Pow: Op.POW,
}
_CMPOPS: dict[type, Op] = {ast.Lt: Op.LT, ast.LtE: Op.LE, ast.Gt: Op.GT, ast.GtE: Op.GE}
_WHAT: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.IfExp: "'a if c else b' (write where(c, a, b))",
    ast.BoolOp: "'and'/'or' (build conditions with < <= > >= and combine them with where)",
    ast.Starred: "'*' unpacking",
    ast.NamedExpr: "':='",
    ast.JoinedStr: "an f-string",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a generator",
}


class ParseError(ValueError):
    """The text is not a formula symgrad accepts; the message says which piece and why."""


def parse(text: str, symbols: dict[str, Expr] | None = None) -> tuple[Expr, dict[str, Expr]]:
    """The expression written in ``text`` and the symbols it names, by name.

    ``symbols`` maps names to existing symbols to reuse; other names get new symbols (the same
    name twice in ``text`` is the same symbol). Raises ``ParseError`` for anything that is not
    a number, a name, an operator or a call of one of ``FUNCTIONS``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    table: dict[str, Expr] = dict(symbols or {})
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        where = f" at column {e.offset}" if e.offset else ""
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ParseError(f"syntax error{where}: {e.msg} (in {shown!r})") from None
    except (RecursionError, MemoryError):
        raise ParseError("the formula is nested too deeply to parse") from None
    # Post-order over the syntax tree with an explicit stack: (node, children done?).
    done: dict[int, Expr] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            kids = _children(node)
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
            continue
        done[id(node)] = _build(node, done, table)
    return done[id(tree.body)], table


def _describe(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # only for the message
        text = type(node).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _children(node: ast.AST) -> list[ast.AST]:
    """The sub-formulas of an accepted node; an unaccepted node is rejected here, before any
    of its parts is looked at."""
    if isinstance(node, ast.Constant | ast.Name):
        return []
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            sym = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@"}.get(type(node.op), "")
            raise ParseError(
                f"the operator {sym or type(node.op).__name__} is not supported; "
                "use + - * / ** and the functions"
            )
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.UAdd | ast.USub):
            raise ParseError("only unary + and - are supported ('not' and '~' are not)")
        return [node.operand]
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise ParseError(
                f"chained comparison {_describe(node)!r}: compare two things at a time"
            )
        if type(node.ops[0]) not in _CMPOPS:
            raise ParseError(
                f"comparison {_describe(node)!r}: only < <= > >= are supported (== and != are "
                "not: equality of floats is rarely what a formula means)"
            )
        return [node.left, node.comparators[0]]
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            raise ParseError(
                f"calling {_describe(func)!r} is not allowed: only the functions "
                f"{', '.join(sorted(FUNCTIONS))} may be called, by name"
            )
        if func.id not in FUNCTIONS:
            raise ParseError(
                f"unknown function {func.id!r}; the functions are {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords:
            raise ParseError(f"{func.id}() takes positional arguments only")
        arity = INFO[FUNCTIONS[func.id]].arity
        if len(node.args) != arity:
            raise ParseError(
                f"{func.id}() takes {arity} argument{'s' * (arity != 1)}, got {len(node.args)}"
            )
        return list(node.args)
    what = _WHAT.get(type(node), f"{type(node).__name__} syntax")
    raise ParseError(f"{what} is not allowed in a formula (in {_describe(node)!r})")


def _build(node: ast.AST, done: dict[int, Expr], table: dict[str, Expr]) -> Expr:
    if isinstance(node, ast.Constant):
        v = node.value
        if type(v) not in (int, float):
            raise ParseError(f"{v!r} is not a real number; a formula holds numbers and names only")
        try:
            f = float(v)
        except OverflowError:
            raise ParseError(f"the number {_describe(node)} is too large for a float") from None
        if math.isinf(f) and type(v) is int:
            raise ParseError(f"the number {_describe(node)} is too large for a float")
        return as_expr(f)
    if isinstance(node, ast.Name):
        name = node.id
        if name in FUNCTIONS:
            raise ParseError(f"{name!r} is a function; call it, as in {name}(x)")
        e = table.get(name)
        if e is None:
            e = table[name] = symbol(name)
        return e
    if isinstance(node, ast.BinOp):
        return make(_BINOPS[type(node.op)], (done[id(node.left)], done[id(node.right)]))
    if isinstance(node, ast.UnaryOp):
        a = done[id(node.operand)]
        return a if isinstance(node.op, ast.UAdd) else make(Op.NEG, (a,))
    if isinstance(node, ast.Compare):
        op = _CMPOPS[type(node.ops[0])]
        return make(op, (done[id(node.left)], done[id(node.comparators[0])]))
    if isinstance(node, ast.Call):
        args = tuple(done[id(a)] for a in node.args)
        return make(FUNCTIONS[node.func.id], args)  # type: ignore[attr-defined]
    raise AssertionError(f"unhandled node {type(node).__name__}")  # _children rejected it
