"""Closed forms with SymPy: expression types, simplifying algebra, adjoint rules, numbers, printing, CSE, code."""
