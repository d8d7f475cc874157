"""Tutorial notation: named intermediates, `Z = X@W; H = relu(Z); f = sum((H-Y)**2)`, as one tree.

Statements are separated by `;` or by line breaks outside parentheses; each
but the last is `NAME = EXPR`, the last is the result (`f = EXPR` or a bare
EXPR). A later statement's use of a name is the earlier statement's own node
(the tree is a DAG: the engine computes it once), labelled with its name so
that `--steps` and `--expect` can speak of ∂f/∂H. Errors point into the whole
text.

>>> tree = parse_statements("Z = X@W; H = relu(Z); f = sum((H - Y)**2)")
>>> tree.op, [n.label for n in postorder(tree) if n.label]
('sum', ['Z', 'H', 'f'])
>>> parse_statements("sum(X)").label
''
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gradcalc.errors import ParseError
from gradcalc.lang.ops import CONSTANTS, lookup_function
from gradcalc.lang.parse import parse
from gradcalc.lang.tree import Node, postorder

_ASSIGN = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)")


@dataclass(frozen=True)
class Statement:
    """One statement: the name it assigns ("" for a bare result), its expression text and where that starts.

    >>> split("Z = X@W; sum(Z)")[0]
    Statement(name='Z', text=' X@W', start=3)
    """

    name: str
    text: str
    start: int


def split(text: str) -> list[Statement]:
    """The statements of a text, in order (a text without `;` or line breaks is one statement).

    >>> [s.name for s in split("Z = X@W\\nH = relu(Z)\\nsum(H)")]
    ['Z', 'H', '']
    """
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth <= 0 and ch in ";\n":
            pieces.append((start, text[start:i]))
            start = i + 1
    pieces.append((start, text[start:]))
    statements = []
    for offset, piece in pieces:
        if not piece.strip() or piece.strip().startswith("#"):
            continue
        match = _ASSIGN.match(piece)
        if match:
            statements.append(Statement(match.group(1), piece[match.end():], offset + match.end()))
        else:
            statements.append(Statement("", piece, offset))
    return statements


def parse_statements(text: str) -> Node:
    """The tree of a program of statements (or of a single expression), labelled by the statements' names.

    >>> parse_statements("A = X*2; B = A + 1; A*B").op
    'mul'
    """
    statements = split(text)
    if len(statements) <= 1 and not (statements and statements[0].name):
        return parse(text)
    if not statements:
        raise ParseError("empty expression; try e.g. 'sum((X@W - Y)**2)'", position=0, source=text)
    defined: dict[str, Node] = {}
    used: set[str] = set()
    for i, statement in enumerate(statements):
        last = i == len(statements) - 1
        if not statement.name and not last:
            raise ParseError("every statement but the last assigns a name, e.g. Z = X@W; write NAME = ... or "
                             "remove it", position=statement.start, source=text)
        node = _shift(_parse_piece(statement, text), statement.start)
        inputs = {n.name for n in postorder(node) if n.op == "var"}
        _check_names(statement, inputs, defined, text)
        used |= inputs & set(defined)
        node = _substitute(node, defined)
        if statement.name:
            node = replace(node, label=statement.name)
            defined[statement.name] = node
    unused = [name for name in defined if name != statements[-1].name and name not in used]
    if unused:
        where = next(s.start for s in statements if s.name == unused[0])
        raise ParseError(f"{unused[0]} is assigned but the result does not use it; use it or remove its statement",
                         position=where, source=text)
    return node


def _parse_piece(statement: Statement, text: str) -> Node:
    try:
        return parse(statement.text)
    except ParseError as err:
        position = None if err.position is None else statement.start + err.position
        raise ParseError(err.message, position=position, source=text) from None


def _check_names(statement: Statement, inputs: set[str], defined: dict[str, Node], text: str) -> None:
    name = statement.name
    if not name:
        return
    start = text.rfind(name, 0, statement.start)
    if name in CONSTANTS or lookup_function(name) is not None:
        what = "a constant" if name in CONSTANTS else "a function"
        raise ParseError(f"{name} is {what}'s name; give the intermediate another name", position=start,
                         source=text)
    if name in defined:
        raise ParseError(f"{name} is assigned twice; give the second statement another name", position=start,
                         source=text)
    if name in inputs:
        raise ParseError(f"{name} = ... uses {name} itself; an intermediate cannot redefine a variable, give it "
                         "another name", position=start, source=text)
    if any(s == name for s in _variables_before(defined)):
        raise ParseError(f"{name} is a variable of an earlier statement; an intermediate cannot shadow it, "
                         "give it another name", position=start, source=text)


def _variables_before(defined: dict[str, Node]) -> set[str]:
    return {n.name for node in defined.values() for n in postorder(node) if n.op == "var"}


def _shift(root: Node, offset: int) -> Node:
    """The tree with every span moved by `offset` (into the whole text)."""
    made: dict[int, Node] = {}
    for node in postorder(root):
        start, end = node.span
        made[id(node)] = replace(node, args=tuple(made[id(a)] for a in node.args),
                                 span=(start + offset, end + offset) if end > start else node.span)
    return made[id(root)]


def _substitute(root: Node, defined: dict[str, Node]) -> Node:
    """Uses of earlier names replaced by those statements' own nodes."""
    made: dict[int, Node] = {}
    for node in postorder(root):
        if node.op == "var" and node.name in defined:
            made[id(node)] = defined[node.name]
            continue
        args = tuple(made[id(a)] for a in node.args)
        made[id(node)] = replace(node, args=args) if any(a is not b for a, b in zip(args, node.args)) else node
    return made[id(root)]
