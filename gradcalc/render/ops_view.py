"""`gradcalc ops`'s two views of the catalogue: a Rich table and the JSON list.

>>> from gradcalc.jobs.catalog import catalog
>>> ops_json(catalog())[0]["name"]
'add'
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from gradcalc.jobs.results import OpEntry


def ops_json(entries: list[OpEntry]) -> list[dict[str, Any]]:
    """The catalogue as plain data for `gradcalc ops --json`.

    >>> from gradcalc.jobs.catalog import catalog
    >>> ops_json(catalog())[0]["name"]
    'add'
    """
    return [vars(e) for e in entries]


def show_ops(entries: list[Any], console: Any) -> None:
    """Print the operator catalogue as a Rich table (G is the adjoint of the output)."""
    table = Table(title="gradcalc operators (G: adjoint of the output; A, B: inputs)", show_lines=False,
                  header_style="bold", title_justify="left",
                  caption="A bare name means what NumPy means; np./numpy. spellings follow NumPy, torch./F./"
                          "torch.nn.functional. spellings follow PyTorch, keywords included; a method follows the "
                          "library whose keywords it uses.", caption_justify="left")
    for column in ("op", "spellings", "NumPy", "PyTorch", "shapes", "derivative", "at a kink"):
        table.add_column(column, overflow="fold")
    for e in entries:
        spellings = [*(f"{f}(...)" for f in e.functions), *(f".{m}()" for m in e.methods)]
        if e.symbol:
            spellings.insert(0, e.symbol)
        rule = "; ".join(f"{k}: {v}" if k else v for k, v in e.derivative.items()) or "constant"
        table.add_row(e.name, ", ".join(spellings), "\n".join(e.numpy) or "-", "\n".join(e.torch) or "-", e.shapes,
                      rule, e.convention)
    console.print(table)
