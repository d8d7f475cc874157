"""The operator table's rows, grouped by role: arithmetic and linear algebra, reductions, elementwise functions,
whole-matrix functions, constructors. `gradcalc.lang.ops` joins them into the one table."""
