"""`gradcalc ops`: the operator table as users read it, in Rich or JSON.

>>> from typer.testing import CliRunner
>>> CliRunner().invoke(app, ["ops", "--json"]).stdout[:30]
'{"gradcalc": "0.1.0", "ops": ['
"""

from __future__ import annotations

import typer

from gradcalc import __version__
from gradcalc.cli.app import app, console, print_json


@app.command("ops")
def ops_command(as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """List every operator: spellings, accepted shapes, derivative rule and kink convention."""
    # the catalogue prints SymPy rules (~0.3 s), which `gradcalc --help` and `--version` do without
    from gradcalc.jobs.catalog import catalog
    from gradcalc.render.ops_view import ops_json, show_ops

    entries = catalog()
    if as_json:
        print_json({"gradcalc": __version__, "ops": ops_json(entries)})
    else:
        show_ops(entries, console())
