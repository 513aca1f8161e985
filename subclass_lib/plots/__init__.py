"""The book's figures. Each function returns a matplotlib Figure and never calls ``plt.show``.

Common figures live in :mod:`.common`; each chapter's in its own module. Everything is
re-exported here, so ``from subclass_lib import plots; plots.contingency_heatmap(...)``.
"""

from .common import *  # noqa: F401,F403
from .hinton import *  # noqa: F401,F403
from .ls_kd import *  # noqa: F401,F403
from .subclass import *  # noqa: F401,F403
from .subclass_students import *  # noqa: F401,F403
from .schematic import *  # noqa: F401,F403
