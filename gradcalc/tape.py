"""The engine: tensors that record onto a flat tape, and a reverse walk over it.

Every operation appends `(output, parents, vjps)` to its tape in execution
order; `backward` is a loop over the reversed tape in which each op hands
its incoming gradient `g` to its vector-Jacobian products. Broadcasting is
undone once, here, by `sum_to`. Only inputs that lead to a leaf asking for a
gradient get a VJP, and gradients are kept for every node (PyTorch's
`retain_grad()`), so the backward chain can be shown.

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

from gradcalc.ops import OPS, Op
from gradcalc.tree import Node, postorder


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

    def _op(self, name: str, *others: Any, **params: Any) -> Tensor:
        return self.tape.apply(OPS[name], self, *(self.tape.lift(o) for o in others), **params)

    def __add__(self, other: Any) -> Tensor:
        return self._op("add", other)

    def __radd__(self, other: Any) -> Tensor:
        return self.tape.lift(other) + self

    def __neg__(self) -> Tensor:
        return self._op("neg")

    def __sub__(self, other: Any) -> Tensor:
        return self + -self.tape.lift(other)

    def __rsub__(self, other: Any) -> Tensor:
        return self.tape.lift(other) - self

    def __mul__(self, other: Any) -> Tensor:
        return self._op("mul", other)

    def __rmul__(self, other: Any) -> Tensor:
        return self.tape.lift(other) * self

    def __truediv__(self, other: Any) -> Tensor:
        return self * self.tape.lift(other) ** -1

    def __pow__(self, p: float) -> Tensor:
        return self._op("pow", p=p)

    def __matmul__(self, other: Any) -> Tensor:
        return self._op("matmul", other)

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's spelling
        """The transpose.

        >>> Tape().leaf([[1.0, 2.0]]).T.value.shape
        (2, 1)
        """
        return self._op("transpose")

    def sum(self) -> Tensor:
        """Sum of all entries.

        >>> Tape().leaf([[1.0, 2.0]]).sum()
        Tensor(array(3.))
        """
        return self._op("sum")


class Tape:
    """A flat record of operations: `entries[i] = (output index, parent indices, vjps)`.

    >>> tape = Tape(); x = tape.leaf([[3.0]])
    >>> y = x * x + 1.0  # the constant 1.0 is a tensor too, but records no entry
    >>> len(tape.tensors), len(tape.entries), tape.backward(y)[x.index]
    (4, 2, array([[6.]]))
    """

    def __init__(self, dtype: Any = np.float64) -> None:
        self.dtype = np.dtype(dtype)  # every value and gradient on the tape has this dtype
        self.tensors: list[Tensor] = []
        self.entries: list[tuple[int, tuple[int, ...], tuple[Callable[[Any], Any] | None, ...]]] = []

    def _new(self, value: Any, requires_grad: bool) -> Tensor:
        tensor = Tensor(np.asarray(value, dtype=self.dtype), self, len(self.tensors), requires_grad)
        self.tensors.append(tensor)
        return tensor

    def leaf(self, value: Any, requires_grad: bool = True) -> Tensor:
        """A variable: a tensor with no parents.

        >>> x = Tape().leaf([[1, 2]])
        >>> x.value.dtype, x.requires_grad
        (dtype('float64'), True)
        """
        return self._new(value, requires_grad)

    def lift(self, value: Any) -> Tensor:
        """A tensor as is, or a constant made into one.

        >>> tape = Tape(); x = tape.leaf(1.0)
        >>> tape.lift(x) is x, tape.lift(2.0).requires_grad
        (True, False)
        """
        return value if isinstance(value, Tensor) else self._new(value, False)

    def apply(self, op: Op, *inputs: Tensor, **params: Any) -> Tensor:
        """Run an op forward and, if any input wants a gradient, record its VJPs.

        >>> tape = Tape()
        >>> x = tape.leaf([[1.0, -2.0]])
        >>> tape.apply(OPS["relu"], x).value
        array([[1., 0.]])
        """
        values = [t.value for t in inputs]
        ans = op.forward(*values, **params)
        out = self._new(ans, any(t.requires_grad for t in inputs))
        if out.requires_grad:
            vjps = tuple(make(out.value, *values, **params) if t.requires_grad else None
                         for make, t in zip(op.vjp, inputs))
            self.entries.append((out.index, tuple(t.index for t in inputs), vjps))
        return out

    def backward(self, out: Tensor, seed: Any = None) -> list[np.ndarray | None]:
        """Gradients of `out` for every tensor on the tape (None where none flows).

        `seed` is the gradient of `out` itself; by default ones, which is
        d out/d out for a scalar or a 1x1 matrix.

        >>> tape = Tape(); x = tape.leaf([[1.0, 2.0]])
        >>> y = x * x
        >>> tape.backward(y.sum())[x.index], tape.backward(y, seed=[[1.0, 0.0]])[x.index]
        (array([[2., 4.]]), array([[2., 0.]]))
        """
        grads: list[np.ndarray | None] = [None] * len(self.tensors)
        grads[out.index] = np.ones_like(out.value) if seed is None else np.asarray(seed, dtype=self.dtype)
        for out_index, parents, vjps in reversed(self.entries):
            g = grads[out_index]
            if g is None:
                continue
            for parent, vjp in zip(parents, vjps):
                if vjp is None:
                    continue
                contribution = np.asarray(sum_to(vjp(g), self.tensors[parent].value.shape), dtype=self.dtype)
                previous = grads[parent]
                grads[parent] = contribution if previous is None else previous + contribution
        return grads


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo broadcasting: sum `g` down to `shape`.

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

    >>> from gradcalc.parse import parse
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
