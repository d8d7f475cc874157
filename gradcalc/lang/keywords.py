"""How a call's constant arguments are read per library: whose method it is, which keyword names which
parameter, and what to say when a spelling is not that library's (`sum(X, dim=1)`, `torch.var(X, ddof=1)`).

The parser (`gradcalc.lang.parse`) builds nodes with these; `Param` says
each parameter's keywords, defaults and positions in NumPy and PyTorch.

>>> from gradcalc.lang.ops import OPS
>>> keyword_param(OPS["sum"], "keepdim", "torch").name, keyword_param(OPS["sum"], "keepdim", "numpy")
('keepdims', None)
"""

from __future__ import annotations

import ast

from gradcalc.lang.op import REQUIRED, Op, Param


def method_library(op: Op, keywords: list[ast.keyword], positional: int = 0) -> str:
    """Whose method `X.var(...)` is: NumPy's or PyTorch's, told by a keyword only one of them takes (`ddof=`,
    `dim=`) or by more arguments than NumPy takes by position (`X.var(1, True)`), else "either".

    A method of an op NumPy has no function for is PyTorch's (`X.softmax(dim=1)`).

    >>> from gradcalc.lang.ops import OPS
    >>> words = lambda text: ast.parse(text, mode="eval").body.keywords
    >>> [method_library(OPS["variance"], words(t), n) for t, n in (("f(ddof=1)", 0), ("f(dim=0)", 0), ("f()", 2))]
    ['numpy', 'torch', 'torch']
    """
    if not op.numpy_names:
        return "torch"
    numpy_words = {k for p in op.params for k in p.keywords("numpy")}
    torch_words = {k for p in op.params for k in p.keywords("torch")}
    numpy = any(kw.arg in numpy_words - torch_words for kw in keywords)
    torch = any(kw.arg in torch_words - numpy_words for kw in keywords)
    torch = torch or positional > sum(p.positional_in("numpy") for p in op.params)
    return "numpy" if numpy and not torch else "torch" if torch and not numpy else "either"


def keyword_param(op: Op, keyword: str | None, library: str) -> Param | None:
    """The parameter a library's keyword names, or None.

    >>> from gradcalc.lang.ops import OPS
    >>> keyword_param(OPS["variance"], "correction", "torch").name
    'ddof'
    """
    return next((p for p in op.params if keyword in p.keywords(library)), None)


def bad_keyword(op: Op, keyword: str | None, library: str, name: str = "") -> str:
    """What to say about a keyword the library does not take: the other library's spelling, or the allowed ones.

    >>> from gradcalc.lang.ops import OPS
    >>> bad_keyword(OPS["sum"], "dim", "numpy")
    "sum() got the PyTorch keyword 'dim'; bare names follow NumPy: write axis=..., or torch.sum(..., dim=...)"
    """
    name = name or op.name
    allowed = ", ".join(k for p in op.params for k in p.keywords(library)) or "none"
    other = next((p for p in op.params if keyword in p.keywords("either")), None)
    if other is not None and library == "numpy":
        numpy_name = other.sets or other.name  # `unbiased` is PyTorch's; NumPy says ddof
        return (f"{name}() got the PyTorch keyword {keyword!r}; bare names follow NumPy: write "
                f"{numpy_name}=..., or torch.{name}(..., {keyword}=...)")
    if other is not None:
        return f"{name}() got the NumPy keyword {keyword!r}; PyTorch spells it {other.keyword('torch')}=..."
    return f"{name}() got an unexpected keyword {keyword!r} (allowed: {allowed})"


def torch_needs(name: str, param: Param) -> str:
    """What to say when a PyTorch spelling lacks an argument PyTorch requires (`torch.softmax(X)`).

    >>> torch_needs("softmax", Param("axis", None, kind="axis", torch="dim"))
    'torch.softmax() needs dim= (an integer), as in PyTorch: e.g. torch.softmax(X, dim=-1)'
    """
    return (f"torch.{name}() needs {param.keyword('torch')}= (an integer), as in PyTorch: e.g. "
            f"torch.{name}(X, {param.keyword('torch')}=-1)")


def too_many(op: Op, name: str, library: str, given: int, slots: list[Param]) -> str:
    """What to say about too many arguments: which ones the library takes by keyword only (`np.sum(X, 1, True)`).

    >>> from gradcalc.lang.ops import OPS
    >>> op = OPS["sum"]
    >>> too_many(op, "sum", "numpy", 3, [p for p in op.params if p.positional_in("numpy")])
    'sum() takes 2 argument(s) by position in NumPy, got 3; pass keepdims= by keyword'
    """
    by_keyword = [p for p in op.params if p not in slots and p.keywords(library)]
    if given > op.arity + len(slots) and by_keyword:
        title = {"torch": "PyTorch", "numpy": "NumPy"}.get(library, "NumPy and PyTorch")
        return (f"{name}() takes {op.arity + len(slots)} argument(s) by position in {title}, got {given}; pass "
                f"{', '.join(p.keywords(library)[0] + '=' for p in by_keyword)} by keyword")
    return f"{name}() takes {signature(op)}, got {given} argument(s)"


def ambiguous(name: str, param: Param) -> str:
    """What to say about a method whose default differs between NumPy and PyTorch, called without saying whose.

    >>> ambiguous("var", Param("ddof", 0, torch="correction", torch_default=1))[:55]
    'X.var() means ddof=0 in NumPy but correction=1 in PyTor'
    """
    return (f"X.{name}() means {param.name}={param.default} in NumPy but {param.torch}={param.torch_default} in "
            f"PyTorch; say which: np.{name}(X), torch.{name}(X), or pass {param.name}= (NumPy) or "
            f"{param.torch}= (PyTorch)")


def signature(op: Op) -> str:
    """The op's gradcalc signature, for messages.

    >>> from gradcalc.lang.ops import OPS
    >>> signature(OPS["pow"])
    'pow(A, p)'
    """
    inputs = ["A", "B", "C"][: op.arity]
    params = [p.name if p.default is REQUIRED else f"{p.name}={p.default}" for p in op.params]
    return f"{op.name}({', '.join(inputs + params)})"
