"""Rows for the softmax family: logsumexp (a reduction), softmax and log_softmax, of all entries or along an axis.

Bare names follow SciPy's `scipy.special` (NumPy has none): `logsumexp(A)`
is over all entries; `softmax(A)` and `log_softmax(A)` of a matrix must say
`axis=1` (rows, as attention and cross-entropy), `axis=0` or `axis=None`
(all entries), since the two readings are both common. PyTorch's spellings
need `dim`, as PyTorch does.

>>> [op.name for op in ROWS]
['logsumexp', 'softmax', 'log_softmax']
"""

from __future__ import annotations

from gradcalc.lang import axis_kernels as ak
from gradcalc.lang import shape_rules as rules
from gradcalc.lang.op import Op, Param
from gradcalc.lang.rows.reductions import KEEPDIMS

#: The axis: optional for the bare names (SciPy's; softmax's shape rule wants it for a matrix), required by
#: PyTorch (`torch.softmax(X, dim=1)`); `gradcalc ops` shows the rule along the rows.
DIM = Param("axis", None, kind="axis", torch="dim", torch_aliases=("axis",), torch_required=True, example=1)

ROWS: tuple[Op, ...] = (
    Op(
        "logsumexp", "log of the sum of exp, of all entries or along an axis (scipy.special.logsumexp)",
        params=(DIM, KEEPDIMS), methods=("logsumexp",), role="reduction",
        shape=rules.reduce, forward=ak.logsumexp, vjp=(ak.logsumexp_vjp,),
        sym=lambda s, a, axis=None, keepdims=False: s.along("logsumexp", a, axis, keepdims),
        sym_vjp=(ak.sym_logsumexp_vjp,),
        numpy="logsumexp({0}{keywords})", latex=r"\operatorname{logsumexp}",
        helper=("def logsumexp(a, axis=None, keepdims=False):",
                "    top = np.max(a, axis=axis, keepdims=True)",
                "    out = top + np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True))",
                "    return out if keepdims else (out.reshape(()) if axis is None else np.squeeze(out, axis=axis))"),
        numpy_names=(), torch_names=("logsumexp", "special.logsumexp"),
    ),
    Op(
        "softmax", "softmax exp(A - logsumexp(A)) along an axis (axis=1: each row) or of all entries (axis=None); "
                   "a matrix must say which", params=(DIM,), methods=("softmax",), role="activation",
        shape=rules.along_axis, forward=ak.softmax, vjp=(ak.softmax_vjp,),
        sym=lambda s, a, axis=None: s.along_function("softmax", a, axis),
        sym_vjp=(ak.sym_softmax_vjp,),
        numpy="softmax({0}{keywords})", latex=r"\operatorname{softmax}",
        helper=("def softmax(a, axis=None):",
                "    e = np.exp(a - np.max(a, axis=axis, keepdims=True))",
                "    return e / np.sum(e, axis=axis, keepdims=True)"),
        numpy_names=(), torch_names=("softmax", "special.softmax"),
    ),
    Op(
        "log_softmax", "log of the softmax, A - logsumexp(A), along an axis (axis=1: each row) or of all entries "
                       "(axis=None); a matrix must say which", params=(DIM,), methods=("log_softmax",),
        role="activation",
        shape=rules.along_axis, forward=ak.log_softmax, vjp=(ak.log_softmax_vjp,),
        sym=lambda s, a, axis=None: s.along_function("log_softmax", a, axis),
        sym_vjp=(ak.sym_log_softmax_vjp,),
        numpy="log_softmax({0}{keywords})", latex=r"\operatorname{log\,softmax}",
        helper=("def log_softmax(a, axis=None):",
                "    shifted = a - np.max(a, axis=axis, keepdims=True)",
                "    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))"),
        numpy_names=(), torch_names=("log_softmax", "special.log_softmax"),
    ),
)
