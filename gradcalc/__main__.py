"""`python -m gradcalc` runs the command line."""

from gradcalc.cli.app import main

main()
