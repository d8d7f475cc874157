"""What each command computes, as plain frozen results that never print: prepare, evaluate, steps, vjp, ..."""

import sys

# SymPy compares and rebuilds the closed form recursively, several frames per level of the expression's
# nesting: the 150 levels the parser allows need more than Python's default 1000 frames in a process
# that has already cached other deep expressions (a batch worker; the long fuzz run found it).
sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
