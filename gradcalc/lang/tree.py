"""The expression tree that every stage reads: variables, constants and op calls.

>>> x = Node("var", name="x")
>>> y = Node("mul", (Node("const", value=2), x))
>>> [n.op for n in postorder(y)]
['const', 'var', 'mul']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator

Number = float | int


@dataclass(frozen=True, eq=False)
class Node:
    """One node: `op` is "var", "const" or an operator name from the table.

    Nodes compare by identity; `span` is the (start, end) of the text the
    node came from, for error messages.

    >>> Node("var", name="W").name
    'W'
    """

    op: str
    args: tuple[Node, ...] = ()
    params: tuple[tuple[str, Number], ...] = ()
    name: str = ""
    value: Number = 0
    span: tuple[int, int] = field(default=(0, 0))
    note: str = ""  # what the user should know about how this spelling was read (torch.max(X, 1): values)
    label: str = ""  # the name a statement gave this node (`H = relu(Z)`), for --steps and --expect
    written: str = ""  # the composed op this node's expansion stands for (`sub` for A - B's add), for messages

    @property
    def kwargs(self) -> dict[str, Number]:
        """The constant parameters as keyword arguments.

        >>> Node("pow", params=(("p", 2),)).kwargs
        {'p': 2}
        """
        return dict(self.params)


def postorder(root: Node) -> list[Node]:
    """Every distinct node once, children before parents, left to right (no recursion).

    >>> a = Node("var", name="a")
    >>> [n.op for n in postorder(Node("add", (a, a)))]
    ['var', 'add']
    """
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((arg, False) for arg in reversed(node.args))
    return order


def leaves(root: Node) -> Iterator[Node]:
    """The variable nodes, in order of appearance in the text.

    >>> t = Node("add", (Node("var", name="b", span=(4, 5)), Node("var", name="a", span=(0, 1))))
    >>> [n.name for n in leaves(t)]
    ['a', 'b']
    """
    found = [n for n in postorder(root) if n.op == "var"]
    return iter(sorted(found, key=lambda n: n.span))


def variable_names(root: Node) -> list[str]:
    """Distinct variable names in order of first appearance.

    >>> t = Node("mul", (Node("var", name="x", span=(0, 1)), Node("var", name="x", span=(2, 3))))
    >>> variable_names(t)
    ['x']
    """
    return list(dict.fromkeys(n.name for n in leaves(root)))


def depending(order: list[Node], names: set[str] | frozenset[str], stop: frozenset[str] = frozenset()) -> set[int]:
    """The ids of the nodes (in a postorder) whose value depends on a variable in `names`.

    Nodes whose op is in `stop` (detach) cut the dependence.

    >>> x = Node("var", name="x")
    >>> tree = Node("add", (Node("detach", (x,)), Node("const", value=1)))
    >>> len(depending(postorder(tree), {"x"})), len(depending(postorder(tree), {"x"}, frozenset({"detach"})))
    (3, 1)
    """
    found: set[int] = set()
    for node in order:
        if node.op in stop:
            continue
        if (node.op == "var" and node.name in names) or any(id(a) in found for a in node.args):
            found.add(id(node))
    return found


def substitute(root: Node, target: Node, replacement: Node) -> Node:
    """A copy of the tree with the node `target` (by identity) replaced; untouched parts are shared.

    >>> x = Node("var", name="x"); e = Node("exp", (x,))
    >>> [n.op for n in postorder(substitute(Node("sum", (e,)), e, Node("var", name="z")))]
    ['var', 'sum']
    """
    made: dict[int, Node] = {}
    for node in postorder(root):
        if node is target:
            made[id(node)] = replacement
            continue
        args = tuple(made[id(a)] for a in node.args)
        changed = any(new is not old for new, old in zip(args, node.args))
        made[id(node)] = replace(node, args=args) if changed else node
    return made[id(root)]
