"""Slider panels: an experiment recipe plus a plot, nothing else.

:func:`.common.retrain_panel` is the one panel every chapter uses; each chapter module
wires its recipe and figure into it. :func:`.static.static_panel` is its static twin for the
rendered book: sliders over precomputed figures that switch in the browser with no kernel.
Everything is re-exported here.
"""

from .common import *  # noqa: F401,F403
from .hinton import *  # noqa: F401,F403
from .ls_kd import *  # noqa: F401,F403
from .static import *  # noqa: F401,F403
from .subclass import *  # noqa: F401,F403
from .subclass_students import *  # noqa: F401,F403
