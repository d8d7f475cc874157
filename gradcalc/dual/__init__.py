"""Forward-mode dual numbers (`numbers`) and the engine run on them (`engine`): JVPs, Hessian-vector products.

>>> from gradcalc.dual.engine import jvp
>>> from gradcalc.lang.parse import parse
>>> import numpy as np
>>> jvp(parse("sum(exp(x))"), {"x": np.zeros(2)}, {"x": np.ones(2)})[1]
array(2.)
"""
