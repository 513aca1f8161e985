"""The book's figures. Each function returns a matplotlib Figure and never calls ``plt.show``.

Common figures live in :mod:`.common`; each chapter's in its own module. Everything is
re-exported here, so ``from subclass_lib import plots; plots.contingency_heatmap(...)``.

The book's figure style is set here, once, when the module is imported (:func:`book_style`): in a
Jupyter kernel, figures are stored at twice their display resolution, so they stay sharp when the
book shows them as wide as its text column (``book/_static/book.css``) and on high-density screens.
The chapters set no style of their own.
"""


#: Font sizes readable when a figure of up to 10 inches is shown across the book's text column.
BOOK_RC = {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11, "legend.fontsize": 9,
           "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.titlesize": 12}


def book_style() -> None:
    """The book's font sizes (:data:`BOOK_RC`) everywhere, and in a Jupyter kernel figures at twice
    their display resolution (``retina`` PNGs)."""
    import matplotlib

    matplotlib.rcParams.update(BOOK_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the book's requirements
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")


book_style()

from .common import *  # noqa: F401,F403
from .hinton import *  # noqa: F401,F403
from .ls_kd import *  # noqa: F401,F403
from .subclass import *  # noqa: F401,F403
from .subclass_students import *  # noqa: F401,F403
from .schematic import *  # noqa: F401,F403
from .summary import *  # noqa: F401,F403
