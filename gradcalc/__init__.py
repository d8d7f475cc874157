"""gradcalc: a gradient calculator for matrix expressions.

The package is importable without NumPy or SymPy; the heavy modules are
loaded by the stages that need them.

>>> import gradcalc
>>> gradcalc.__version__
'0.1.0'
"""

__version__ = "0.1.0"
