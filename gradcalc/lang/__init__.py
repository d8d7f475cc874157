"""The language: the expression tree, sizes, shape rules, the operator table, the parser and shape inference.

Nothing here knows about values, SymPy or output: text becomes a tree with a shape for every node.
"""
