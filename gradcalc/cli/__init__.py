"""The command line: a tiny Typer app, one module per command, lazy imports so that `--version` is instant."""
