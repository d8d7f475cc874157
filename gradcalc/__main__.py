"""`python -m gradcalc` runs the command line."""

from gradcalc.cli import main

main()
