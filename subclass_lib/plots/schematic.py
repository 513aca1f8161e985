"""Schematic figures drawn in code (boxes, arrows, text): the method of chapters 4 and 5."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

__all__ = ["subclass_distillation_schematic"]

#: The most classes and subclasses per class the schematic draws legibly at the book's width.
MAX_CLASSES = 4
MAX_SUB = 10
#: The drawing's size in inches (its coordinates are inches at this size).
WIDTH, HEIGHT = 10.0, 4.5
#: The book shows the drawing across its text column (about 7 of its 10 inches at 100 dpi), so its text is set
#: this much larger than the sizes below name.
TEXT_SCALE = 1.25

_LETTERS = "ABCDEFGHIJ"
_CLASS_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")
_INK = "#333333"
_AUX = "#b07d00"
_DISTIL = "#7b4f9d"


def _count(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    if value > high:
        raise ValueError(f"{name} = {value} gives too many cells to draw legibly (at most {high})")
    return value


class _Canvas:
    """Boxes, arrows and text on an axes whose coordinates are inches of a 10 x 4.5 drawing;
    font sizes shrink with the axes when it is smaller than that."""

    def __init__(self, ax, scale: float):
        self.ax, self.scale = ax, scale

    def text(self, x, y, s, size=9.5, colour=_INK, **kw):
        kw.setdefault("ha", "center")
        kw.setdefault("va", "center")
        return self.ax.text(x, y, s, fontsize=size * TEXT_SCALE * self.scale, color=colour, linespacing=1.35, **kw)

    def box(self, x, y, w, h, text="", face="white", edge=_INK, size=9.5, **kw):
        """A rounded box, (x, y) its lower-left corner, ``text`` centred in it."""
        self.ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                         facecolor=face, edgecolor=edge, lw=1.2))
        if text:
            self.text(x + w / 2, y + h / 2, text, size=size, **kw)

    def arrow(self, start, end, colour=_INK, ls="-", rad=0.0):
        self.ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12 * self.scale,
                                          color=colour, lw=1.3, ls=ls, connectionstyle=f"arc3,rad={rad}",
                                          shrinkA=2, shrinkB=2))

    def grid(self, x, y, w, h, n_classes: int, n_sub: int, label_cells: bool):
        """c rows (one per class, in its colour) of s cells, centred in the box (x, y, w, h)
        after a column of class letters; returns the grid's (left, bottom, right, top)."""
        cell = min((w - 0.3) / n_sub, h / n_classes)
        left = x + 0.3 + (w - 0.3 - cell * n_sub) / 2
        bottom = y + (h - cell * n_classes) / 2
        for j in range(n_classes):
            row_y = bottom + (n_classes - 1 - j) * cell
            colour = _CLASS_COLOURS[j]
            self.text(left - 0.08, row_y + cell / 2, _LETTERS[j], size=9, colour=colour, ha="right",
                      fontweight="bold")
            for k in range(n_sub):
                self.ax.add_patch(Rectangle((left + k * cell, row_y), cell, cell, facecolor=colour, alpha=0.45,
                                            edgecolor="white", lw=1.5))
                if label_cells:
                    self.text(left + (k + 0.5) * cell, row_y + cell / 2, f"{_LETTERS[j]}{k}", size=6.5)
        return left, bottom, left + cell * n_sub, bottom + cell * n_classes


def subclass_distillation_schematic(n_classes: int = 2, n_sub: int = 5, ax=None):
    r"""The method of Müller, Kornblith and Hinton (2020), "Subclass distillation", as a diagram.

    Top row, the teacher: an image x -> teacher network -> ``n_classes`` x ``n_sub`` sub-logits
    (one coloured row per class, cells named ``A0``, ``A1``, ... as in the contingency tables)
    -> one softmax over all of them, a class's probability being the sum of its subclasses'
    (paper Eq. 1-2) -> cross-entropy with the class label; an auxiliary loss (the paper's
    contrastive loss, or the diversity/sharpness surrogate) acts on the sub-logits (Eq. 6-8).
    Bottom row, the student: the same image -> student network -> its own sub-logits, trained
    to match the teacher's softmax at temperature T over all c*s sub-logits (Eq. 3), mixed with
    its own class cross-entropy by the task balance alpha (Eq. 4).

    Draws into ``ax`` when given (the whole axes; fonts shrink if it is smaller than 10 x 4.5
    inches), else into a new 10 x 4.5 inch figure, and returns the Figure. Raises
    ``ValueError`` unless ``n_classes`` is an integer in 2..4 and ``n_sub`` one in 1..10
    (more cells are not legible at the book's width).
    """
    c = _count("n_classes", n_classes, 2, MAX_CLASSES)
    s = _count("n_sub", n_sub, 1, MAX_SUB)
    if ax is None:
        fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
        fig.subplots_adjust(left=0.005, right=0.995, bottom=0.01, top=0.99)
    fig = ax.figure
    pos = ax.get_position()
    scale = min(1.0, pos.width * fig.get_figwidth() / WIDTH, pos.height * fig.get_figheight() / HEIGHT)
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, HEIGHT)
    ax.set_aspect("equal")
    ax.axis("off")
    d = _Canvas(ax, scale)
    subclasses = "subclass" if s == 1 else "subclasses"
    y_t, y_s = 2.75, 0.35  # bottoms of the teacher's and the student's rows

    d.text(0.05, 4.3, "1. the teacher: trained first, on the class labels only", size=9, ha="left",
           style="italic")
    d.text(0.05, 0.12, "2. the student: trained next, from the teacher's sub-logits and the class labels",
           size=9, ha="left", style="italic")

    # the image feeds both networks
    d.box(0.05, 1.65, 0.8, 0.8, "image\n$x$", face="#f2f2f2")
    d.box(1.25, y_t + 0.15, 1.35, 0.75, "teacher\nnetwork", face="#e8eef7", fontweight="bold")
    d.box(1.25, y_s + 0.15, 1.35, 0.75, "student\nnetwork", face="#eef5ea", fontweight="bold")
    d.arrow((0.85, 2.2), (1.25, y_t + 0.5))
    d.arrow((0.85, 1.9), (1.25, y_s + 0.55))

    # each network's c x s sub-logits
    tg = d.grid(2.95, y_t + 0.2, 2.05, 0.65, c, s, label_cells=s <= 6 and c <= 3)
    sg = d.grid(2.95, y_s + 0.2, 2.05, 0.65, c, s, label_cells=s <= 6 and c <= 3)
    # left-aligned after the network's arrow, so that the longer caption stays clear of the grouped-softmax box
    d.text(2.72, y_t + 0.05, f"teacher sub-logits: {c} classes × {s} {subclasses}", size=7.2, ha="left")
    d.text((sg[0] + sg[2]) / 2, y_s + 0.05, f"student sub-logits ({c} × {s})", size=7.6)
    d.arrow((2.6, y_t + 0.525), (tg[0] - 0.3, y_t + 0.525))
    d.arrow((2.6, y_s + 0.525), (sg[0] - 0.3, y_s + 0.525))

    # the grouped softmax and the class loss of each
    gs_x, gs_w, ce_x, ce_w = 5.45, 2.0, 7.85, 2.1
    for y, g, loss in ((y_t, tg, "cross-entropy with the\nclass label $y$"),
                       (y_s, sg, r"$(1-\alpha)\,\times$ cross-entropy" + "\nwith the class label $y$")):
        d.box(gs_x, y + 0.1, gs_w, 0.85, face="white")
        d.text(gs_x + gs_w / 2, y + 0.74, "grouped softmax")
        d.text(gs_x + gs_w / 2, y + 0.38, r"$p(\mathrm{class}\ j) = \sum_k P_{jk}$")
        d.arrow((g[2] + 0.05, y + 0.525), (gs_x, y + 0.525))
        d.box(ce_x, y + 0.1, ce_w, 0.85, loss, face="#fbeeee")
        d.arrow((gs_x + gs_w, y + 0.525), (ce_x, y + 0.525))

    # the auxiliary loss acts on the teacher's sub-logits
    d.box(5.45, 3.9, 4.5, 0.5, r"auxiliary loss ($\beta$): diversity / contrastive," + "\n"
          "use every subclass, one subclass per example", face="#fff6e0", size=8.5)
    d.arrow((5.45, 4.15), ((tg[0] + tg[2]) / 2, tg[3] + 0.05), colour=_AUX, ls="--", rad=0.25)

    # subclass distillation: the student's sub-logits match the teacher's at temperature T
    d.box(2.95, 1.6, 4.5, 0.9,
          r"subclass distillation ($\alpha$): softmax at temperature $T$" + "\n"
          f"over all {c * s} sub-logits; the student matches the teacher,\n"
          r"$T^2\,H(P^{\mathrm{teacher}}(T),\,P^{\mathrm{student}}(T))$",
          face="#f3ecf8", edge=_DISTIL, size=8.5)
    mid = (tg[0] + tg[2]) / 2
    d.arrow((mid, tg[1] - 0.2), (mid, 2.5), colour=_DISTIL)
    d.arrow((mid, 1.6), (mid, sg[3] + 0.02), colour=_DISTIL, ls="--")
    d.text(mid + 0.08, 2.53, "targets (the teacher is fixed)", size=7.5, colour=_DISTIL, ha="left", va="bottom")
    return fig
