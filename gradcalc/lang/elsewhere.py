"""What a name gradcalc does not read means elsewhere (NumPy, PyTorch, Python), and what to write instead.

The parser's error path asks here first and falls back to spelling
(`difflib`) only for a name this table does not know: `argmax` is not a
misspelt `amax`, it is an index with no gradient. Every entry is a name
gradcalc does not read; `tests/test_cli_edges.py` checks that, and that
every expression a hint proposes parses.

>>> suggest("argmax", ["amax", "max"], "functions")[:47]
'; argmax gives an index, whose gradient is zero'
>>> suggest("amx", ["amax", "max"], "functions")
'; did you mean amax, max?'
"""

from __future__ import annotations

import difflib

#: Functions (bare, np.NAME, torch.NAME) and methods (X.NAME()): what they are elsewhere, what to write here.
CALLS = {
    "prod": "a product of entries (np.prod, torch.prod) is not an operator here: for positive entries "
            "exp(sum(log(X))) is the same",
    "cumsum": "cumulative sums (np.cumsum, torch.cumsum) are not an operator here: a cumulative sum down the n "
              "rows of X is a product with a lower-triangular matrix of ones, given as a --value",
    "cumprod": "cumulative products (np.cumprod) are not an operator here",
    "einsum": "einsum strings are not read: write the contraction with @, .T, * and sum(..., axis=...), "
              "e.g. 'ij,jk->ik' is A@B and 'ij,ij->' is sum(A*B)",
    "sort": "sorting (np.sort, torch.sort) is not an operator here; for the largest or smallest entry write "
            "max(X) or min(X)",
    "argsort": "argsort gives indices, whose gradient is zero wherever it is defined; gradcalc has no sort",
    "argmax": "argmax gives an index, whose gradient is zero wherever it is defined: for the largest value "
              "write max(X) or amax(X, axis=0)",
    "argmin": "argmin gives an index, whose gradient is zero wherever it is defined: for the smallest value "
              "write min(X) or amin(X, axis=0)",
    "item": ".item() turns a one-entry tensor into a Python number (PyTorch, NumPy); gradcalc's scalars "
            "already are numbers: drop .item()",
    "numpy": ".numpy() turns a PyTorch tensor into a NumPy array; here every variable is both: drop .numpy()",
    "tolist": ".tolist() turns an array into Python lists; drop it",
    "backward": ".backward() is how PyTorch computes gradients; gradcalc does that itself: write f and use --wrt",
    "size": "X.size() is PyTorch's shape; sizes are fixed with --shape X=3x4: write the number itself",
    "len": "len(X) is the number of rows in Python; sizes are fixed with --shape X=3x4: write the number itself",
    "randn": "random numbers are not part of an expression: gradcalc draws the variables' values itself "
             "(--seed, --rng torch) or reads them (--value X=file.npy)",
    "rand": "random numbers are not part of an expression: gradcalc draws the variables' values itself "
            "(--seed, --rng torch) or reads them (--value X=file.npy)",
}
#: Attributes (X.NAME without a call).
ATTRIBUTES = {
    "data": "X.data is PyTorch's tensor without its gradient history: write X, or X.detach() to hold it "
            "constant",
    "grad": "X.grad is what PyTorch fills in after backward(); gradcalc computes it: write f and use --wrt X",
    "shape": "X.shape is the shape; sizes are fixed with --shape X=3x4: write the number itself",
    "item": ".item is a method in PyTorch and NumPy, and gradcalc's scalars already are numbers: drop it",
    "random": "random numbers are not part of an expression: gradcalc draws the variables' values itself "
              "(--seed, --rng torch) or reads them (--value X=file.npy)",
}
#: Python operators gradcalc does not read (by their ast class name).
OPERATORS = {
    "BitXor": "^ is bitwise XOR in Python and NumPy, not a power: write X**2 for the square",
    "FloorDiv": "// is floor division, whose gradient is zero wherever it is defined: write / for division",
    "Mod": "% is the remainder, not an operator here",
    "BitAnd": "& is bitwise and: for masks multiply them, e.g. (X > 0)*(X < 1)",
    "BitOr": "| is bitwise or: for masks add them and clip, e.g. clip((X < 0) + (X > 1), 0, 1)",
    "LShift": "<< is a bit shift, not an operator here",
    "RShift": ">> is a bit shift, not an operator here",
}


def suggest(name: str, known: list[str], what: str, table: dict[str, str] = CALLS) -> str:
    """The tail of an unknown-name error: what `name` means elsewhere, else close spellings, else the list.

    >>> suggest("grad", [".T"], "attributes", ATTRIBUTES)[:30]
    '; X.grad is what PyTorch fills'
    >>> suggest("zzz", ["sum"], "functions")
    '; known functions: sum'
    """
    if name in table:
        return f"; {table[name]}"
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if close:
        return f"; did you mean {', '.join(close)}?"
    return f"; known {what}: {', '.join(known)}"


def operator(name: str) -> str:
    """What a Python operator gradcalc does not read is, and what to write, or "" when the table has nothing.

    >>> operator("BitXor")
    '^ is bitwise XOR in Python and NumPy, not a power: write X**2 for the square'
    """
    return OPERATORS.get(name, "")
