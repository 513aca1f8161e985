"""pytest configuration shared by the unit tests and nbval over the chapters.

A hidden claim cell of a chapter prints one line in a reader's kernel when its claim does not
hold for that run; under the tests it must fail. The kernels nbval starts inherit this
process's environment, so setting the mode here makes every claim strict (see
``subclass_lib/claims.py``).
"""

import os

os.environ["SUBCLASS_LIB_CLAIMS"] = "strict"
