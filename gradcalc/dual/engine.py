"""The engine on dual numbers: a tree's forward pass and reverse walk run on duals, for JVPs and Hessians.

The op table's own forwards and curried VJPs run on `Dual`s: with a
direction given as the variables' tangents, the forward pass gives the
directional derivative (JVP), and the reverse walk run on duals too gives
the gradient whose tangent is the Hessian-vector product (forward over
reverse). Broadcasting is undone as on the tape (`sum_to`).

>>> from gradcalc.lang.parse import parse
>>> hvp(parse("sum(x**3)"), {"x": np.array([1.0, 2.0])}, {"x": np.array([1.0, 0.0])}, ["x"])["x"][1]
array([6., 0.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcalc.dual.numbers import DEFERRED, Dual, DualError, tangent_of, value_of
from gradcalc.errors import InputError
from gradcalc.lang.ops import OPS
from gradcalc.lang.tree import Node, postorder

_ndarray = np.ndarray


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting of a dual or an array, as the tape's `sum_to`.

    >>> sum_to(Dual(np.ones((2, 3)), np.ones((2, 3))), (1, 3)).tangent
    array([[2., 2., 2.]])
    """
    if not isinstance(g, Dual):
        g = np.asarray(g)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return np.reshape(np.sum(g, axis=axes, keepdims=True), shape)


def cast(x: Any, dtype: np.dtype) -> Any:
    """A dual or an array in `dtype` (the tape's one dtype).

    >>> cast(Dual(np.ones(1), np.ones(1)), np.dtype(np.float32)).tangent.dtype
    dtype('float32')
    """
    if isinstance(x, Dual):
        t = x.tangent
        return x if x.dtype == dtype and (t is None or t.dtype == dtype) else x.astype(dtype)
    return x if type(x) is _ndarray and x.dtype == dtype else np.asarray(x, dtype=dtype)


def refused(op_title: str, err: DualError, mode: str) -> InputError:
    """The error for an op whose NumPy rule dual numbers cannot follow.

    >>> refused("relu", DualError("np.foo"), "second").message[:55]
    'relu: no second derivative by the engine: its NumPy rul'
    """
    return InputError(f"{op_title}: no {mode} derivative by the engine: its NumPy rule calls {err}, which has no "
                      "forward-mode (dual number) rule; the first-order gradient (gradcalc eval) is unaffected")


class DualTape:
    """A tree evaluated on duals, with the VJPs of the nodes that lead to `wrt`, ready for a reverse walk.

    The variables in `tangents` carry those tangents (the direction); the
    others are constants along it. Each node's value is `values[index]`.

    >>> from gradcalc.lang.parse import parse
    >>> run = DualTape(parse("sum(x*x*x)"), {"x": np.array([2.0])}, {"x": np.array([1.0])}, {"x"})
    >>> run.out.tangent, run.backward()["x"].tangent  # d/dt f = 3x², d/dt ∇f = 6x
    (array(12.), array([12.]))
    """

    def __init__(self, root: Node, values: dict[str, np.ndarray], tangents: dict[str, np.ndarray],
                 wrt: set[str] | frozenset[str] = frozenset(), dtype: Any = np.float64) -> None:
        self.dtype = dtype = np.dtype(dtype)
        self.mode = "second" if wrt else "forward-mode"
        self.values: list[Any] = []
        self.entries: list[tuple[int, tuple[tuple[int, Any, tuple[int, ...], str], ...]]] = []
        self.leaves: dict[str, int] = {}
        index: dict[int, int] = {}
        requires: list[bool] = []
        for name, value in values.items():
            t = tangents.get(name)
            x = Dual(cast(value, dtype), None if t is None else cast(t, dtype))
            self.leaves[name] = len(self.values)
            self.values.append(x if name in wrt or t is not None else cast(value, dtype))
            requires.append(name in wrt)
        for node in postorder(root):
            if node.op == "var":
                index[id(node)] = self.leaves[node.name]
                continue
            if node.op == "const":
                ans, edges = cast(node.value, dtype), ()
            else:
                ans, edges = self._apply(node, [index[id(a)] for a in node.args], requires)
            index[id(node)] = len(self.values)
            if edges:
                self.entries.append((len(self.values), edges))
                ans = ans if isinstance(ans, Dual) else Dual(ans)  # a VJP maker then sees duals only
            self.values.append(ans)
            requires.append(bool(edges))
        self.root = index[id(root)]

    def _apply(self, node: Node, args: list[int], requires: list[bool]) -> tuple[Any, tuple[Any, ...]]:
        op, params = OPS[node.op], node.kwargs
        inputs = [self.values[i] for i in args]
        try:
            if op.stops_gradient:  # detach: the value, constant along every direction
                return cast(op.forward(*(value_of(x) for x in inputs), **params), self.dtype), ()
            ans = cast(op.forward(*inputs, **params), self.dtype)
            edges = tuple((i, op.vjp[k](ans, *inputs, **params), np.shape(value_of(inputs[k])), op.title)
                          for k, i in enumerate(args) if requires[i])
        except DualError as err:
            raise refused(op.title, err, self.mode) from None
        return ans, edges

    @property
    def out(self) -> Any:
        """The expression's value, a dual whose tangent is the directional derivative (JVP)."""
        return self.values[self.root]

    def backward(self, gradient: bool = True) -> dict[str, Any]:
        """The reverse walk on duals: each variable's gradient, whose tangent is the Hessian-vector product.

        With `gradient=False` only the products (tangents) come back, as plain arrays: the last step into each
        variable then leaves its value (the gradient) uncomputed where nothing reads it.

        >>> from gradcalc.lang.parse import parse
        >>> DualTape(parse("sum(x*y)"), {"x": np.ones(2), "y": np.ones(2)}, {"y": np.array([1.0, 2.0])},
        ...          {"x"}).backward()["x"].tangent
        array([1., 2.])
        """
        dtype = self.dtype
        grads: list[Any] = [None] * len(self.values)
        grads[self.root] = np.ones(np.shape(value_of(self.out)), dtype)
        leaves = set() if gradient else set(self.leaves.values())
        for index, edges in reversed(self.entries):
            g = grads[index]
            if g is None:
                continue
            grads[index] = None
            for parent, vjp, shape, title in edges:
                token = DEFERRED.set(parent in leaves)
                try:
                    c = cast(sum_to(vjp(g), shape), dtype)
                except DualError as err:
                    raise refused(title, err, self.mode) from None
                finally:
                    DEFERRED.reset(token)
                if parent in leaves:  # the tangent alone: a deferred product's value stays uncomputed
                    c = tangent_of(c)
                    if c is None:
                        continue
                previous = grads[parent]
                grads[parent] = c if previous is None else previous + c
        return {name: grads[i] for name, i in self.leaves.items()}


def parts(x: Any, shape: tuple[int, ...], dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """A dual (or array, or None) as (value, tangent) arrays of `shape`, zeros for what is missing.

    >>> parts(None, (2,))[1], parts(Dual(np.ones(1)), (1,))[1]
    (array([0., 0.]), array([0.]))
    """
    value, tangent = value_of(x), tangent_of(x)
    zeros = np.zeros(shape, dtype)
    value = zeros if value is None else np.broadcast_to(np.asarray(value, dtype), shape).copy()
    return value, zeros if tangent is None else np.broadcast_to(np.asarray(tangent, dtype), shape).copy()


def jvp(root: Node, values: dict[str, np.ndarray], tangents: dict[str, np.ndarray],
        dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The expression's value and its directional derivative along `tangents` (forward mode).

    >>> from gradcalc.lang.parse import parse
    >>> jvp(parse("x*x"), {"x": np.array([1.0, 3.0])}, {"x": np.array([1.0, 1.0])})[1]
    array([2., 6.])
    """
    out = DualTape(root, values, tangents, dtype=dtype).out
    return parts(out, np.shape(value_of(out)), dtype)


def hvp(root: Node, values: dict[str, np.ndarray], tangents: dict[str, np.ndarray], wrt: list[str],
        dtype: Any = np.float64, gradient: bool = True) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
    """Each `wrt` variable's gradient and Hessian-vector product along `tangents` (forward over reverse); with
    `gradient=False` the product alone (None for the gradient), as a hand-written HVP computes it.

    >>> from gradcalc.lang.parse import parse
    >>> tree, values = parse("sum(x*x*y)"), {"x": np.ones(1), "y": np.ones(1)}
    >>> hvp(tree, values, {"x": np.ones(1)}, ["x", "y"])["y"], hvp(tree, values, {"x": np.ones(1)}, ["y"], gradient=False)
    ((array([1.]), array([2.])), {'y': (None, array([2.]))})
    """
    grads = DualTape(root, values, tangents, set(wrt), dtype).backward(gradient)
    if not gradient:
        return {name: (None, parts(Dual(np.zeros(np.shape(values[name])), grads[name]), np.shape(values[name]),
                                   dtype)[1]) for name in wrt}
    return {name: parts(grads[name], np.shape(values[name]), dtype) for name in wrt}


def hessian(root: Node, values: dict[str, np.ndarray], wrt: list[str], dtype: Any = np.float64) -> np.ndarray:
    """The Hessian over the `wrt` variables' entries, row-major within each and in `wrt` order: one HVP per column.

    >>> from gradcalc.lang.parse import parse
    >>> hessian(parse("x@A@x"), {"x": np.ones(2), "A": np.array([[1.0, 2.0], [0.0, 3.0]])}, ["x"])
    array([[2., 2.],
           [2., 6.]])
    """
    sizes = [np.size(values[name]) for name in wrt]
    out = np.zeros((sum(sizes), sum(sizes)), dtype)
    column = 0
    for name, n in zip(wrt, sizes):
        for j in range(n):
            direction = np.zeros(n, dtype)
            direction[j] = 1
            products = hvp(root, values, {name: direction.reshape(np.shape(values[name]))}, wrt, dtype, gradient=False)
            out[:, column] = np.concatenate([products[b][1].ravel() for b in wrt])
            column += 1
    return out
