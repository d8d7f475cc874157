"""Second order and forward mode against real PyTorch: `torch.autograd.functional.hessian`, `hvp` and `jvp`.

Every case of `tests/test_oracles.py` (which covers every op of the table) is
evaluated by an interpreter written here from PyTorch's own functions, and
PyTorch's Hessian, Hessian-vector product and Jacobian-vector product of it
are compared with gradcalc's dual-number engine (`gradcalc.dual.engine`),
whose second derivatives run the op table's own forwards and VJPs. Skipped
cleanly when torch is not installed.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from test_oracles import CASES, draw_values  # noqa: E402 - after the skip: the cases covering every op

from gradcalc.dual import engine  # noqa: E402
from gradcalc.jobs.second import run_hessian  # noqa: E402
from gradcalc.lang.ops import OPS, TABLE  # noqa: E402
from gradcalc.lang.parse import parse  # noqa: E402
from gradcalc.lang.shape_kernels import axes_order  # noqa: E402
from gradcalc.lang.subscripts import numpy_key  # noqa: E402
from gradcalc.lang.tree import Node, postorder  # noqa: E402
from gradcalc.options import EvalOptions  # noqa: E402
from gradcalc.values.draw import Value  # noqa: E402

RTOL, ATOL = 1e-8, 1e-9


def _all(a: Any) -> tuple[int, ...]:
    return tuple(range(a.dim()))


def _reduced(f: Callable[..., Any]) -> Callable[..., Any]:
    """A NumPy-style reduction (axis None: all entries, keepdims as NumPy keeps them) from a torch one."""
    def reduce(a: Any, axis: Any = None, keepdims: bool = False, **params: Any) -> Any:
        if axis is None:
            out = f(a, _all(a), **params) if a.dim() else f(a.reshape(1), (0,), **params).reshape(())
            return out.reshape([1] * a.dim()) if keepdims else out
        return f(a, (axis,), keepdim=keepdims, **params)
    return reduce


def _along(f: Callable[..., Any]) -> Callable[..., Any]:
    """softmax and log_softmax along an axis, or over all entries (axis None)."""
    return lambda a, axis=None: f(a.reshape(-1), 0).reshape(a.shape) if axis is None else f(a, axis)


def _mask(test: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: test(a, b).to(torch.float64)


def _reshape(a: Any, n: int, m: Any = None) -> Any:
    return a.reshape(n) if m is None else a.reshape(n, m)


#: Each op of the table as PyTorch computes it (NumPy's meaning where the table says so, as the rows state).
TORCH: dict[str, Callable[..., Any]] = {
    "add": lambda a, b: a + b, "neg": lambda a: -a, "mul": lambda a, b: a * b, "pow": lambda a, p: a ** p,
    "matmul": torch.matmul, "mm": torch.mm, "dot": torch.dot, "outer": torch.outer, "diag": torch.diag,
    "transpose": lambda a: a.T if a.dim() == 2 else a, "kron": torch.kron,
    "sum": _reduced(lambda a, dims, **kw: torch.sum(a, dim=dims, **kw)),
    "mean": _reduced(lambda a, dims, **kw: torch.mean(a, dim=dims, **kw)),
    "variance": lambda a, axis=None, keepdims=False, ddof=0: _reduced(
        lambda x, dims, **kw: torch.var(x, dim=dims, correction=ddof, **kw))(a, axis, keepdims),
    "std": lambda a, axis=None, keepdims=False, ddof=0: _reduced(
        lambda x, dims, **kw: torch.std(x, dim=dims, correction=ddof, **kw))(a, axis, keepdims),
    "max": _reduced(lambda a, dims, **kw: torch.amax(a, dim=dims, **kw)),
    "min": _reduced(lambda a, dims, **kw: torch.amin(a, dim=dims, **kw)),
    "logsumexp": _reduced(lambda a, dims, **kw: torch.logsumexp(a, dim=dims, **kw)),
    "softmax": _along(torch.softmax), "log_softmax": _along(torch.log_softmax),
    "trace": torch.trace, "norm": lambda a: torch.sqrt(torch.sum(a * a)), "det": torch.linalg.det,
    "logdet": torch.logdet, "inv": torch.linalg.inv,
    "relu": torch.relu, "clamp": lambda a, min=-math.inf, max=math.inf: torch.clamp(  # noqa: A002
        a, None if min == -math.inf else min, None if max == math.inf else max),
    "maximum": torch.maximum, "minimum": torch.minimum,
    "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs, "sign": torch.sign,
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "softplus": F.softplus, "erf": torch.erf, "log1p": torch.log1p, "expm1": torch.expm1,
    "heaviside": lambda a, h0=0: torch.heaviside(a.detach(), torch.tensor(float(h0), dtype=a.dtype)),  # no
    # derivative in PyTorch: the step's is 0 everywhere, as gradcalc's row says
    "detach": lambda a: a.detach(),
    "leaky_relu": lambda a, negative_slope=0.01: F.leaky_relu(a, negative_slope),
    "elu": lambda a, alpha=1.0: F.elu(a, alpha),
    "gelu": lambda a, approximate="none": F.gelu(a, approximate=approximate),
    "greater": _mask(torch.gt), "less": _mask(torch.lt), "greater_equal": _mask(torch.ge),
    "less_equal": _mask(torch.le), "equal": _mask(torch.eq), "not_equal": _mask(torch.ne),
    "where": lambda c, a, b: torch.where(c != 0, a, b),
    "index": lambda a, key: a[numpy_key(key)], "reshape": _reshape,
    "permute": lambda a, d0=None, d1=None: a.permute(axes_order(a.dim(), d0, d1)),
    "swapaxes": lambda a, axis1, axis2: a.transpose(axis1, axis2), "matrix_transpose": lambda a: a.mT,
    "eye": lambda n: torch.eye(n, dtype=torch.float64),
    "ones": lambda n, m=None: torch.ones((n,) if m is None else (n, m), dtype=torch.float64),
    "zeros": lambda n, m=None: torch.zeros((n,) if m is None else (n, m), dtype=torch.float64),
}


def interpret(tree: Node, env: dict[str, Any]) -> Any:
    """The tree computed by PyTorch's functions on the tensors of `env`."""
    memo: dict[int, Any] = {}
    for node in postorder(tree):
        if node.op == "var":
            memo[id(node)] = env[node.name]
        elif node.op == "const":
            memo[id(node)] = torch.tensor(float(node.value), dtype=torch.float64)
        else:
            memo[id(node)] = TORCH[node.op](*(memo[id(a)] for a in node.args), **node.kwargs)
    return memo[id(tree)]


def test_every_op_with_a_rule_has_a_torch_meaning() -> None:
    missing = [op.name for op in TABLE if op.expand is None and op.name not in TORCH]
    assert not missing, f"ops without a PyTorch meaning here (add them to TORCH): {missing}"


def _case_ids() -> list[str]:
    return [case.id for case in CASES]


def _setup(case: Any) -> tuple[Node, dict[str, np.ndarray], list[str], Callable[..., Any]]:
    tree = parse(case.text)
    values = draw_values(case)
    names = list(case.shapes)

    def f(*tensors: Any) -> Any:
        return torch.sum(interpret(tree, dict(zip(names, tensors))))
    return tree, values, names, f


def _tensors(values: dict[str, np.ndarray], names: list[str]) -> tuple[Any, ...]:
    return tuple(torch.tensor(values[n], dtype=torch.float64) for n in names)


@pytest.mark.parametrize("case", CASES, ids=_case_ids())
def test_hessian_matches_torch(case: Any) -> None:
    tree, values, names, f = _setup(case)
    blocks = torch.autograd.functional.hessian(f, _tensors(values, names))
    sizes = [values[n].size for n in names]
    reference = np.block([[np.asarray(blocks[i][j].detach().numpy()).reshape(sizes[i], sizes[j])
                           for j in range(len(names))] for i in range(len(names))])
    ours = engine.hessian(tree, values, names)
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=ATOL * max(1.0, float(np.abs(reference).max())))


@pytest.mark.parametrize("case", CASES, ids=_case_ids())
def test_hvp_and_jvp_match_torch(case: Any) -> None:
    tree, values, names, f = _setup(case)
    rng = np.random.default_rng(7)
    directions = {n: rng.standard_normal(values[n].shape) for n in names}
    inputs, v = _tensors(values, names), _tensors(directions, names)
    _, hvps = torch.autograd.functional.hvp(f, inputs, v)
    _, jvp = torch.autograd.functional.jvp(f, inputs, v)
    ours = engine.hvp(tree, values, directions, names)
    for name, reference in zip(names, hvps):
        ref = reference.detach().numpy()
        np.testing.assert_allclose(ours[name][1], ref, rtol=RTOL, atol=ATOL * max(1.0, float(np.abs(ref).max())))
    value, tangent = engine.jvp(tree, values, directions)
    np.testing.assert_allclose(np.sum(tangent), jvp.detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("expr, shapes", [
    ("x@A@x", {"x": (4,), "A": (4, 4)}),
    ("sum(softplus(X@w) - y*(X@w))", {"X": (7, 3), "w": (3,), "y": (7,)}),
    ("logsumexp(z) - y@z", {"z": (5,), "y": (5,)}),
    ("logdet(S@S.T + eye(3))", {"S": (3, 3)}),
])
def test_textbook_hessians_match_torch_through_the_job(expr: str, shapes: dict[str, tuple[int, ...]]) -> None:
    wrt = [next(iter(n for n in shapes if n in ("x", "w", "z", "S")))]
    result = run_hessian(expr, EvalOptions(wrt=wrt, shapes=shapes, hessian=True))
    values = {v.name: v.value for v in result.variables}
    tree = parse(expr)
    names = [v.name for v in result.variables]

    def f(x: Any) -> Any:
        env = {n: torch.tensor(values[n], dtype=torch.float64) for n in names}
        env[wrt[0]] = x
        return torch.sum(interpret(tree, env))
    reference = torch.autograd.functional.hessian(f, torch.tensor(values[wrt[0]], dtype=torch.float64))
    n = values[wrt[0]].size
    assert result.verdict == "equal"
    np.testing.assert_allclose(result.autograd, reference.numpy().reshape(n, n), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(result.symbolic, reference.numpy().reshape(n, n), rtol=1e-9, atol=1e-10)


def test_jvp_of_a_matrix_output_matches_torch() -> None:
    from gradcalc.jobs.second import run_jvp

    direction = np.arange(8.0).reshape(2, 4) / 7
    result = run_jvp("softmax(X@W, axis=1)", EvalOptions(wrt=["W"], shapes={"X": (3, 2), "W": (2, 4)},
                                                         jvp=Value(direction, "inline")))
    values = {v.name: torch.tensor(v.value, dtype=torch.float64) for v in result.variables}
    _, reference = torch.autograd.functional.jvp(lambda w: torch.softmax(values["X"] @ w, 1), values["W"],
                                                 torch.tensor(direction))
    assert result.verdict == "equal"
    np.testing.assert_allclose(result.products[0].autograd, reference.numpy(), rtol=1e-10, atol=1e-12)


def test_ops_of_other_helpers_are_covered_by_an_oracle_case() -> None:
    covered = {node.op for case in CASES for node in postorder(parse(case.text))}
    rules = {op.name for op in TABLE if op.expand is None and op.arity > 0}
    assert rules <= covered | {"eye", "ones", "zeros"}, sorted(rules - covered)
    assert all(OPS[name].vjp for name in rules)
