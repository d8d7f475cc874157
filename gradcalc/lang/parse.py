"""Text to tree: Python's own tokenizer and grammar, then a strict whitelist.

`ast.parse(..., mode="eval")` only builds a syntax tree; nothing is ever
evaluated. The visitor accepts numbers, the constants `pi`, `e`, `inf`,
ASCII identifiers, the operators `+ - * / ** @`, calls of functions in the
operator table, bare or with a library prefix (`np.`, `np.linalg.`,
`torch.`, `F.`, ...: the spelling means what that library means, keywords
included), method chains (`x.mm(W).sum()`) and `.T`; anything else is a
ParseError pointing at the offending character.

>>> parse("sum((X@W - Y)**2)").op
'sum'
>>> parse("x.t().mm(W)").args[0].op
'transpose'
"""

from __future__ import annotations

import ast
import math
import re
import sys
import warnings
from typing import Any

from gradcalc.errors import ParseError
from gradcalc.lang.ops import (CONSTANTS, LIBRARY_TITLES, NAMESPACES, OPS, REQUIRED, Op, Param, function_names,
                               library_names, lookup_function, lookup_in, lookup_method, lookup_symbol, method_names)
from gradcalc.lang.elsewhere import ATTRIBUTES, operator as operator_hint, suggest
from gradcalc.lang.kernels import TooLarge, bounded
from gradcalc.lang.subscripts import key_of as subscript_key
from gradcalc.lang.keywords import (ambiguous, bad_keyword, keyword_param, method_library, signature,
                                     too_many, torch_needs)
from gradcalc.lang.tree import Node

MAX_LENGTH = 10_000  # characters in an expression
MAX_DEPTH = 150  # levels of nesting (calls, operators, parentheses) in an expression
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@"}
_UNOPS = {ast.USub: "-", ast.UAdd: "+"}
_COMPARE = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


def parse(text: str, printed: bool = False) -> Node:
    """Parse an expression into a tree, or raise ParseError with a position.

    `printed` marks a text gradcalc wrote itself (a closed form read back,
    or the user's expression wrapped in a weight): the limit on what a user
    types, MAX_LENGTH, does not apply to it (the depth limit does).

    >>> parse("relu(X@W)").args[0].op
    'matmul'
    >>> parse("foo(X)")
    Traceback (most recent call last):
    gradcalc.errors.ParseError: unknown function 'foo'; known functions: abs, add, ...
    >>> parse("sum(x" + " " * MAX_LENGTH + ")", printed=True).op
    'sum'
    """
    if not text.strip():
        raise ParseError("empty expression; try e.g. 'sum((X@W - Y)**2)'", position=0, source=text)
    if len(text) > MAX_LENGTH and not printed:
        raise ParseError(f"the expression is {len(text):,} characters long; gradcalc reads at most {MAX_LENGTH:,} "
                         "(name repeated parts once, e.g. with --value, or split the expression)",
                         position=MAX_LENGTH, source=text)
    _check_characters(text)
    indent = len(text) - len(text.lstrip())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a SyntaxWarning ("invalid decimal literal" for 1if) would be a 2nd line
            body = ast.parse(text[indent:], mode="eval").body
    except SyntaxError as err:
        position = _syntax_position(text, indent, err)
        if "too many nested" in err.msg:  # Python's own limit on parentheses
            raise _too_deep(text, position) from None
        raise ParseError(f"syntax error: {err.msg}", position=position, source=text) from None
    except (RecursionError, MemoryError):
        raise _too_deep(text, 0) from None
    visitor = _Visitor(text, indent)
    _check_depth(body, visitor)
    return visitor.visit(body)


def _too_deep(text: str, position: int) -> ParseError:
    return ParseError(f"the expression nests more than {MAX_DEPTH} levels deep (calls, operators and "
                      "parentheses); split it into smaller expressions", position=position, source=text)


def _check_depth(body: ast.AST, visitor: _Visitor) -> None:
    """Refuse nesting deeper than MAX_DEPTH, pointing at the first node beyond it (no recursion)."""
    stack = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(visitor.text, visitor.span(node)[0])
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                     if isinstance(child, ast.expr))


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if not (ch.isascii() and (ch.isprintable() or ch in " \t\n")):
            raise ParseError(f"invalid character {ch!r} (U+{ord(ch):04X}); use ASCII operators such as * and @",
                             position=i, source=text)


def _syntax_position(text: str, indent: int, err: SyntaxError) -> int:
    if not err.lineno or not err.offset:
        return len(text.rstrip())
    line_start = sum(len(line) + 1 for line in text[indent:].split("\n")[: err.lineno - 1])
    return min(indent + line_start + err.offset - 1, len(text))


class _Visitor:
    """Turns whitelisted ast nodes into tree Nodes; rejects everything else."""

    def __init__(self, text: str, indent: int) -> None:
        self.text = text
        self.memo: dict[int, tuple[Node, Any]] = {}
        lines = text[indent:].split("\n")
        self.line_starts = [indent + sum(len(line) + 1 for line in lines[:i]) for i in range(len(lines))]

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.line_starts[node.lineno - 1] + node.col_offset
        end = self.line_starts[(node.end_lineno or node.lineno) - 1] + (node.end_col_offset or node.col_offset)
        return start, end

    def fail(self, message: str, node: ast.AST) -> ParseError:
        return ParseError(message, position=self.span(node)[0], source=self.text)

    def visit(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return self.binary(node)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNOPS:
            operand = self.visit(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            return self.build(lookup_symbol("-", binary=False), [operand], {}, node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        hint = operator_hint(type(node.op).__name__) if isinstance(node, ast.BinOp) else ""
        raise self.fail(f"unsupported syntax: {_describe(node)}" + (f"; {hint}" if hint else ""), node)

    def compare(self, node: ast.Compare) -> Node:
        """`A > B` and the other comparisons, one at a time: a 0/1 mask."""
        if len(node.ops) > 1:
            raise self.fail(f"a chained comparison ({ast.unparse(node)}) is not supported: compare once, and "
                            "multiply the masks for 'and', e.g. (a < X)*(X < b)", node)
        symbol = _COMPARE.get(type(node.ops[0]))
        if symbol is None:
            raise self.fail(f"unsupported comparison {ast.unparse(node)!r}: use <, <=, >, >=, == or !=", node)
        return self.build(lookup_symbol(symbol, binary=True), [node.left, node.comparators[0]], {}, node)

    def subscript(self, node: ast.Subscript) -> Node:
        """`X[0]`, `X[:, 1]`, `X[1:3, :2]`: NumPy's basic indexing with constant integers (`lang.subscripts`)."""
        key = subscript_key(node.slice, _fold_ast, self.fail)
        return Node("index", (self.visit(node.value),), (("key", key),), span=self.span(node))

    def constant(self, node: ast.Constant) -> Node:
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise self.fail(f"unsupported constant {node.value!r}: only numbers are allowed", node)
        if abs(node.value) > sys.float_info.max:  # an integer of 309+ digits; 1e309 is inf, as in NumPy
            raise self.fail("number too large: a float64 holds at most about 1.8e308", node)
        return Node("const", value=node.value, span=self.span(node))

    def name(self, node: ast.Name) -> Node:
        if not _IDENT.fullmatch(node.id):
            raise self.fail(f"invalid name {node.id!r}", node)
        if node.id.startswith("__"):
            raise self.fail(f"invalid name {node.id!r}: names may not start with '__'", node)
        if node.id in CONSTANTS:
            return Node("const", value=CONSTANTS[node.id], span=self.span(node))
        if lookup_function(node.id) is not None:
            raise self.fail(f"{node.id!r} is a function; call it as {node.id}(...)", node)
        return Node("var", name=node.id, span=self.span(node))

    def binary(self, node: ast.BinOp) -> Node:
        op = lookup_symbol(_BINOPS[type(node.op)], binary=True)
        left = self.visit(node.left)
        if op.arity == 1 and _fold_ast(node.right) is None and _positive(_fold(left, self.memo)):  # `e**X`, `2**X`
            base = _fold(left, self.memo)
            exponent = self.visit(node.right)
            scaled = exponent if base == math.e else Node("mul", (Node("const", value=math.log(base)), exponent))
            return Node("exp", (scaled,), span=self.span(node))
        if op.arity == 1:  # `A ** p`: the right operand is the op's first parameter
            return self.build(op, [left], {op.params[0].name: node.right}, node)
        return self.build(op, [left, self.visit(node.right)], {}, node)

    def attribute(self, node: ast.Attribute) -> Node:
        if node.attr in ("T", "mT"):  # NumPy's and PyTorch's X.T; X.mT needs a matrix
            op = lookup_method("t") if node.attr == "T" else OPS["matrix_transpose"]
            return self.build(op, [self.visit(node.value)], {}, node)
        if _dotted(node.value) in NAMESPACES:
            if node.attr in CONSTANTS:
                return Node("const", value=CONSTANTS[node.attr], span=self.span(node))
            if node.attr in ATTRIBUTES:
                raise self.fail(f"{_dotted(node)} is not read; {ATTRIBUTES[node.attr]}", node)
            raise self.fail(f"{_dotted(node)} must be called, e.g. {_dotted(node)}(X)", node)
        self.visit(node.value)
        hint = ATTRIBUTES.get(node.attr, "did you mean '.T'?")
        raise ParseError(f"unknown attribute '.{node.attr}'; {hint}",
                         position=self.span(node)[1] - len(node.attr), source=self.text)

    def call(self, node: ast.Call) -> Node:
        func = node.func
        if isinstance(func, ast.Name):  # a bare name follows NumPy; one NumPy lacks takes either's keywords
            op = self.function(func.id, func)
            library = "numpy" if op.numpy_names else "either"
            return self.build(op, node.args, node.keywords, node, library=library, spelled=func.id)
        if isinstance(func, ast.Attribute):
            prefix = _dotted(func.value)
            if prefix in NAMESPACES:
                return self.library_call(prefix, func.attr, node)
            receiver = self.visit(func.value)
            method = lookup_method(func.attr)
            if method is None:
                message = f"unknown method '.{func.attr}()'{suggest(func.attr, method_names(), 'methods')}"
                raise ParseError(message, position=self.span(func)[1] - len(func.attr), source=self.text)
            return self.build(method, [receiver, *node.args], node.keywords, node, library="method",
                              spelled=func.attr)
        raise self.fail(f"unsupported call of {_describe(func)}", node)

    def library_call(self, prefix: str, name: str, node: ast.Call) -> Node:
        """`np.max(X, 0)`, `torch.max(X, Y)`: the op that library means, keywords spelled as it spells them."""
        library, sub = NAMESPACES[prefix]
        candidates = lookup_in(library, sub + name)
        if not candidates and library == "math":
            raise self.fail(f"math.{name} works on plain numbers only; for arrays write np.{name}(...) or {name}(...)",
                            node)
        if not candidates:
            known = [n[len(sub):] for n in library_names(library) if n.startswith(sub)]
            bare = lookup_function(name)
            instead = f"; gradcalc's own {name}(...) means {bare.doc.split(':')[0]}" if bare else ""
            raise self.fail(f"{prefix}.{name} is not a {LIBRARY_TITLES[library]} function gradcalc knows"
                            f"{instead}{suggest(name, known, 'functions there')}", node)
        for op in candidates[:-1]:  # an overloaded spelling: the first op whose extra arguments are constants
            if all(_fold_ast(a) is not None or _flag_ast(a) for a in node.args[op.arity:]):
                return self.build(op, node.args, node.keywords, node, library=library, spelled=name)
        return self.build(candidates[-1], node.args, node.keywords, node, library=library, spelled=name)

    def function(self, name: str, where: ast.AST) -> Op:
        op = lookup_function(name)
        if op is None:
            raise self.fail(f"unknown function {name!r}{suggest(name, function_names(), 'functions')}", where)
        return op

    def build(self, op: Op, args: list[Any], keywords: list[ast.keyword] | dict[str, Any],
              node: ast.AST, library: str = "numpy", spelled: str = "") -> Node:
        """Sort call arguments into tensor inputs and constant parameters, then make the node.

        `library` is whose keywords and defaults apply: "numpy" (bare names
        and `np.`), "torch", or "method" (either, told apart by the keywords
        used; a method whose defaults differ between the two is refused).
        `spelled` is the name the call used (`var` for the variance), for messages.
        """
        name = spelled or op.name
        if op.tuple_params and len(args) == op.arity + 1 and isinstance(args[-1], (ast.Tuple, ast.List)):
            args = [*args[:-1], *args[-1].elts]  # np.reshape(X, (2, 6)), X.permute((1, 0))
        tensors, extra = list(args[: op.arity]), list(args[op.arity:])
        given = [kw for kw in keywords] if isinstance(keywords, list) else []
        library = method_library(op, given, len(extra)) if library == "method" else library
        slots = [p for p in op.params if p.positional_in(library)]  # torch.var(X, 1, True): dim, unbiased
        if len(tensors) < op.arity or len(extra) > len(slots):
            raise self.fail(too_many(op, name, library, len(args), slots), node)
        named = dict(zip((p.name for p in slots), extra))
        for kw in given:
            param = keyword_param(op, kw.arg, library)
            if param is None or param.name in named:
                raise self.fail(bad_keyword(op, kw.arg, library, name), kw.value)
            named[param.name] = kw.value
        if isinstance(keywords, dict):
            named.update(keywords)
        self.flags_that_set(op, named, node)
        inputs = [a if isinstance(a, Node) else self.visit(a) for a in tensors]
        params = {}
        for param in op.params:
            if param.name in named:
                params[param.name] = self.constant_param(named[param.name], op, param)
                if params[param.name] is None and library == "torch" and param.torch_required:
                    raise self.fail(torch_needs(name, param), named[param.name])
            elif library == "torch" and param.torch_required:
                raise self.fail(torch_needs(name, param), node)
            elif library in ("torch", "either") and param.torch_default is not REQUIRED:
                if library == "either":
                    raise self.fail(ambiguous(name, param), node)
                params[param.name] = param.torch_default
            elif param.default is REQUIRED:
                raise self.fail(f"{name}() needs its {param.name!r} argument: {signature(op)}", node)
        refused = op.refuse(name, library, params) if op.refuse else ""
        refused = refused or (op.refuse_operands(library, tuple(inputs)) if op.refuse_operands else "")
        if refused:
            raise self.fail(refused, node)
        span = self.span(node)
        zero = _zero_denominator(op, inputs, params)
        if zero is not None:
            raise ParseError("division by zero", position=zero.span[0], source=self.text)
        try:  # a note naming a parameter (`{axis}`) is said only when the call gives it
            note = op.torch_note.format(text=self.text[span[0]:span[1]], **params) if library == "torch" else ""
        except KeyError:
            note = ""
        if op.expand is not None:
            return self.bounded(_respan(op.expand(*inputs, **params), span, op.name), node)
        return self.bounded(Node(op.name, tuple(inputs), tuple(params.items()), span=span, note=note), node)

    def bounded(self, built: Node, node: ast.AST) -> Node:
        """`built`, unless it is a constant beyond float64's range: refused before anyone computes it."""
        try:
            _fold(built, self.memo)
        except TooLarge as err:
            raise self.fail(str(err), node) from None
        return built

    def flags_that_set(self, op: Op, named: dict[str, Any], node: ast.AST) -> None:
        """A flag that stands for another parameter becomes it: `unbiased=False` is `correction=0`."""
        for param in op.params:
            if not param.sets or param.name not in named:
                continue
            value = named.pop(param.name)
            if param.sets in named:
                other = next(p for p in op.params if p.name == param.sets)
                raise self.fail(f"{op.name}() takes {other.keyword('torch')}= or {param.name}=, not both", value)
            named[param.sets] = ast.copy_location(ast.Constant(int(self.constant_param(value, op, param))), value)

    def constant_param(self, value: ast.AST, op: Op, param: Param) -> Any:
        """A constant parameter: a number (possibly an arithmetic of numbers), True/False, or a choice."""
        if param.kind == "flag":
            if isinstance(value, ast.Constant) and isinstance(value.value, bool):
                return value.value
            raise self.fail(f"{op.name}(): {param.name!r} must be True or False", value)
        if param.kind == "choice":
            if isinstance(value, ast.Constant) and value.value in param.choices:
                return value.value
            allowed = ", ".join(repr(c) for c in param.choices)
            raise self.fail(f"{op.name}(): {param.name!r} must be one of {allowed}", value)
        if isinstance(value, ast.Constant) and value.value is None and _open(param.default):
            return param.default  # None where the default is none (an axis) or an open bound (clamp's min)
        return self.number(value, op, param)

    def number(self, value: ast.AST, op: Op, param: Param) -> float | int:
        """A constant numeric parameter, possibly written as an arithmetic of numbers."""
        number = _fold(self.visit(value), self.memo)
        infinite = isinstance(number, float) and math.isinf(number)  # -np.inf: an open bound, where one may be
        real = isinstance(number, (int, float)) and (abs(number) <= sys.float_info.max  # 10**400: no OverflowError
                                                     or (_open(param.default) and infinite))
        whole = real and math.isfinite(number) and number == int(number) and (param.kind == "axis" or number >= 1)
        if not real or (param.kind != "number" and not whole):
            kind = {"number": "a number", "size": "a positive integer", "axis": "an integer"}[param.kind]
            other = OPS.get(op.confused_with)
            hint = f"; for the {other.doc.split(':')[0]} write {other.name}(A, B)" if other else ""
            raise self.fail(f"{op.name}(): {param.name!r} must be {kind} (a constant, not a variable){hint}", value)
        return number if param.kind == "number" else int(number)


def _open(default: Any) -> bool:
    """A default that means "none" (None, or an infinite bound): None may be written for it, and ±inf given."""
    return default is None or (isinstance(default, float) and math.isinf(default))


def _zero_denominator(op: Op, inputs: list[Node], params: dict[str, Any]) -> Node | None:
    denominator = inputs[1] if op.name == "div" else inputs[0] if params.get("p", 1) < 0 else None
    return denominator if denominator is not None and _fold(denominator) == 0 else None


def _fold(node: Node, memo: dict[int, tuple[Node, Any]] | None = None) -> float | int | None:
    """The value of a constant-only subtree, or None; TooLarge for an exact integer beyond float64.

    `memo` (id -> (node, value)) makes folding every node of a tree as it is built linear."""
    if node.op == "const":
        return node.value
    if memo is not None and id(node) in memo:
        return memo[id(node)][1]
    values = []
    for arg in node.args:
        values.append(_fold(arg, memo))
        if values[-1] is None:
            break
    op = OPS.get(node.op)
    value = None
    if op is not None and op.fold is not None and all(v is not None for v in values):
        try:
            value = bounded(op.fold(*values, *node.kwargs.values()))
        except TooLarge:
            raise
        except (ArithmeticError, ValueError, TypeError):
            value = None
    if memo is not None:
        memo[id(node)] = (node, value)  # the node is kept so that its id is not reused
    return value


def _fold_ast(node: ast.AST) -> float | int | None:
    """The value of a constant-only argument (`1`, `-1`, `2*3`), or None; nothing is evaluated but arithmetic."""
    try:
        return _fold(_Visitor(ast.unparse(node), 0).visit(ast.parse(ast.unparse(node), mode="eval").body))
    except (ParseError, SyntaxError, ValueError, RecursionError):
        return None


def _flag_ast(node: ast.AST) -> bool:
    """True/False or None written as an argument (`torch.max(X, 1, True)`: a constant, as a number is)."""
    return isinstance(node, ast.Constant) and (isinstance(node.value, bool) or node.value is None)


def _positive(number: float | int | None) -> bool:
    return isinstance(number, (int, float)) and 0 < number <= sys.float_info.max and number != 1


def _respan(node: Node, span: tuple[int, int], written: str = "") -> Node:
    """Give a composed op's expansion the source span of the text it came from, and its root the op's name."""
    if node.op in ("var", "const"):
        return node
    return Node(node.op, tuple(_respan(a, span) if a.span == (0, 0) else a for a in node.args),
                node.params, span=span, written=written)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _describe(node: ast.AST) -> str:
    names = {ast.Subscript: "indexing", ast.Compare: "comparison", ast.BoolOp: "boolean operator",
             ast.Lambda: "lambda", ast.IfExp: "conditional expression", ast.Tuple: "tuple",
             ast.List: "list", ast.Dict: "dict", ast.Starred: "starred argument"}
    return names.get(type(node), type(node).__name__.lower())
