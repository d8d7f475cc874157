"""`python -m gradcalc` runs the command line."""

from gradcalc.cli.main import main

main()
