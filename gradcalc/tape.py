"""The engine: tensors that record onto a flat tape, and a reverse walk over it.

Every operation appends `(output, edges)` to its tape in execution order,
one edge `(parent, vjp, parent's shape)` per input that leads to a leaf
asking for a gradient (no VJP is made for the others); `backward` is a loop
over the reversed tape in which each op hands its incoming gradient `g` to
its vector-Jacobian products. Broadcasting is undone once, here, by
`sum_to`, and only where the shapes differ. A node's gradient is freed as
soon as its op has passed it on; `backward(..., retain=True)` keeps every
node's (PyTorch's `retain_grad()`), so the backward chain can be shown.

The tape holds only its edges, never its tensors, so a tape and the
forward values its VJPs do not need are freed as soon as nothing else
refers to them.

>>> import numpy as np
>>> tape = Tape()
>>> w = tape.leaf(np.array([[1.0, 2.0]]))
>>> loss = ((w * w) * 3.0).sum()
>>> grads = tape.backward(loss)
>>> grads[w.index]
array([[ 6., 12.]])
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from gradcalc.lang.ops import OPS, Op
from gradcalc.lang.tree import Node, postorder

_ndarray = np.ndarray
Edge = tuple[int, Callable[[Any], Any], tuple[int, ...]]


class Tensor:
    """A value on a tape; arithmetic on tensors records onto that tape.

    >>> w = Tape().leaf([[1.0, 2.0]])
    >>> w @ w.T + 1
    Tensor(array([[6.]]))
    """

    __slots__ = ("value", "tape", "index", "requires_grad")

    def __init__(self, value: np.ndarray, tape: Tape, index: int, requires_grad: bool) -> None:
        self.value = value
        self.tape = tape
        self.index = index
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return f"Tensor({self.value!r})"

    def __add__(self, other: Any) -> Tensor:
        return self.tape.apply(OPS["add"], self, self.tape.lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return self.tape.apply(OPS["add"], self.tape.lift(other), self)

    def __neg__(self) -> Tensor:
        return self.tape.apply(OPS["neg"], self)

    def __sub__(self, other: Any) -> Tensor:
        return self.tape.apply(OPS["add"], self, -self.tape.lift(other))

    def __rsub__(self, other: Any) -> Tensor:
        return self.tape.lift(other) - self

    def __mul__(self, other: Any) -> Tensor:
        return self.tape.apply(OPS["mul"], self, self.tape.lift(other))

    def __rmul__(self, other: Any) -> Tensor:
        return self.tape.apply(OPS["mul"], self.tape.lift(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return self * self.tape.lift(other) ** -1

    def __pow__(self, p: float) -> Tensor:
        return self.tape.apply(OPS["pow"], self, p=p)

    def __matmul__(self, other: Any) -> Tensor:
        return self.tape.apply(OPS["matmul"], self, self.tape.lift(other))

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's spelling
        """The transpose.

        >>> Tape().leaf([[1.0, 2.0]]).T.value.shape
        (2, 1)
        """
        return self.tape.apply(OPS["transpose"], self)

    def sum(self) -> Tensor:
        """Sum of all entries.

        >>> Tape().leaf([[1.0, 2.0]]).sum()
        Tensor(array(3.))
        """
        return self.tape.apply(OPS["sum"], self)


class Tape:
    """A flat record of operations: `entries[i] = (output index, ((parent index, vjp, parent shape), ...))`.

    `size` counts the tensors made on the tape (leaves, constants, outputs);
    only operations with an input that wants a gradient make an entry.

    >>> tape = Tape(); x = tape.leaf([[3.0]])
    >>> y = x * x + 1.0  # the constant 1.0 is a tensor too, but records no entry
    >>> tape.size, len(tape.entries), tape.backward(y)[x.index]
    (4, 2, array([[6.]]))
    """

    __slots__ = ("dtype", "size", "entries")

    def __init__(self, dtype: Any = np.float64) -> None:
        self.dtype = np.dtype(dtype)  # every value and gradient on the tape has this dtype
        self.size = 0
        self.entries: list[tuple[int, tuple[Edge, ...]]] = []

    def leaf(self, value: Any, requires_grad: bool = True) -> Tensor:
        """A variable: a tensor with no parents (an array of the tape's dtype is used as is, not copied).

        >>> x = Tape().leaf([[1, 2]])
        >>> x.value.dtype, x.requires_grad
        (dtype('float64'), True)
        """
        if type(value) is not _ndarray or value.dtype is not self.dtype:
            value = np.asarray(value, dtype=self.dtype)
        self.size += 1
        return Tensor(value, self, self.size - 1, requires_grad)

    def lift(self, value: Any) -> Tensor:
        """A tensor as is, or a constant made into one.

        >>> tape = Tape(); x = tape.leaf(1.0)
        >>> tape.lift(x) is x, tape.lift(2.0).requires_grad
        (True, False)
        """
        return value if type(value) is Tensor else self.leaf(value, False)

    def apply(self, op: Op, *inputs: Tensor, **params: Any) -> Tensor:
        """Run an op forward and, for each input that wants a gradient, record its VJP.

        >>> tape = Tape()
        >>> x = tape.leaf([[1.0, -2.0]])
        >>> tape.apply(OPS["relu"], x).value
        array([[1., 0.]])
        """
        n = len(inputs)
        if params or not 0 < n <= 2:
            values = [t.value for t in inputs]
            ans = op.forward(*values, **params)
            if type(ans) is not _ndarray or ans.dtype is not self.dtype:
                ans = np.asarray(ans, dtype=self.dtype)
            edges = tuple([(t.index, op.vjp[i](ans, *values, **params), t.value.shape)
                           for i, t in enumerate(inputs) if t.requires_grad])
        elif n == 2:  # one or two inputs: plain calls, inlined checks, the hot path of every operation
            a, b = inputs
            av, bv = a.value, b.value
            ans = op.forward(av, bv)
            if type(ans) is not _ndarray or ans.dtype is not self.dtype:
                ans = np.asarray(ans, dtype=self.dtype)
            first = (a.index, op.vjp[0](ans, av, bv), av.shape) if a.requires_grad else None
            second = (b.index, op.vjp[1](ans, av, bv), bv.shape) if b.requires_grad else None
            edges = (first, second) if first and second else (first,) if first else (second,) if second else ()
        else:
            a = inputs[0]
            av = a.value
            ans = op.forward(av)
            if type(ans) is not _ndarray or ans.dtype is not self.dtype:
                ans = np.asarray(ans, dtype=self.dtype)
            edges = ((a.index, op.vjp[0](ans, av), av.shape),) if a.requires_grad else ()
        index = self.size
        self.size = index + 1
        if edges:
            self.entries.append((index, edges))
        return Tensor(ans, self, index, bool(edges))

    def backward(self, out: Tensor, seed: Any = None, retain: bool = False) -> list[np.ndarray | None]:
        """Gradients of `out` for every tensor on the tape (None where none flows).

        `seed` is the gradient of `out` itself; by default ones, which is
        d out/d out for a scalar or a 1x1 matrix. A node's gradient is freed
        once its op has passed it on, so the list holds the leaves'
        gradients only, unless `retain` keeps every node's. The tape itself
        is kept: `backward` may run again, with another seed.

        >>> tape = Tape(); x = tape.leaf([[1.0, 2.0]])
        >>> y = x * x
        >>> tape.backward(y.sum())[x.index], tape.backward(y, seed=[[1.0, 0.0]])[x.index]
        (array([[2., 4.]]), array([[2., 0.]]))
        >>> tape.backward(y.sum())[y.index] is None, tape.backward(y.sum(), retain=True)[y.index]
        (True, array([[1., 1.]]))
        """
        dtype = self.dtype
        grads: list[np.ndarray | None] = [None] * self.size
        grads[out.index] = _ones(out.value.shape, dtype) if seed is None else np.asarray(seed, dtype=dtype)
        for index, edges in reversed(self.entries):
            g = grads[index]
            if g is None:
                continue
            if not retain:
                grads[index] = None
            for parent, vjp, shape in edges:
                c = vjp(g)
                if type(c) is not _ndarray or c.shape != shape or c.dtype is not dtype:
                    c = np.asarray(sum_to(c, shape), dtype=dtype)
                previous = grads[parent]
                grads[parent] = c if previous is None else previous + c
        return grads


def _ones(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Ones, cheaply for a scalar (the usual seed)."""
    return np.array(1, dtype=dtype) if shape == () else np.ones(shape, dtype=dtype)


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo broadcasting: sum `g` down to `shape` (`g` itself when it has that shape).

    >>> sum_to(np.ones((2, 3)), ()), sum_to(np.ones((2, 3)), (1, 3))
    (array(6.), array([[2., 2., 2.]]))
    """
    g = np.asarray(g)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def record(root: Node, values: dict[str, np.ndarray], wrt: set[str] | frozenset[str] = frozenset(),
           dtype: Any = np.float64) -> tuple[Tape, dict[int, Tensor], dict[str, Tensor]]:
    """Evaluate a tree on a fresh tape in `dtype`; leaves named in `wrt` ask for gradients.

    Returns the tape, the tensor of every node (by `id(node)`) and each variable's leaf.

    >>> from gradcalc.lang.parse import parse
    >>> tree = parse("sum(x*x)")
    >>> tape, nodes, leaves = record(tree, {"x": np.ones((2, 2))}, {"x"})
    >>> tape.backward(nodes[id(tree)])[leaves["x"].index]
    array([[2., 2.],
           [2., 2.]])
    """
    tape = Tape(dtype)
    leaves = {name: tape.leaf(value, name in wrt) for name, value in values.items()}
    tensors: dict[int, Tensor] = {}
    for node in postorder(root):
        if node.op == "var":
            tensors[id(node)] = leaves[node.name]
        elif node.op == "const":
            tensors[id(node)] = tape.lift(node.value)
        else:
            args = [tensors[id(a)] for a in node.args]
            tensors[id(node)] = tape.apply(OPS[node.op], *args, **node.kwargs)
    return tape, tensors, leaves
