"""Digit groupings, transfer sets and small data utilities on MNIST tensors.

Superclass labels for any partition of the ten digits (:func:`check_groups`), sets that
keep or omit digits, a seeded train/validation split and subset, and the jitter and
random views that augment a batch. The images themselves come from :mod:`subclass_lib.mnist`
(``load_mnist`` is re-exported here).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from .checks import check_seed
from .mnist import IMAGE_SIDE, N_DIGITS, N_PIXELS, MNISTSplit, MNISTUnavailableError, load_mnist

__all__ = [
    "DEFAULT_GROUPS",
    "check_groups",
    "superclass_labels",
    "subclass_order",
    "omit_digits",
    "parse_digits",
    "keep_digits",
    "train_val_split",
    "load_splits",
    "VAL_SIZE",
    "SPLIT_SEED",
    "jitter",
    "random_view",
    "subset",
    # re-exported from subclass_lib.mnist
    "load_mnist",
    "MNISTSplit",
    "MNISTUnavailableError",
]

# --------------------------------------------------------------------------- #
# Digit groups (superclasses)
# --------------------------------------------------------------------------- #

#: Default superclasses: digits 0-4 vs 5-9.
DEFAULT_GROUPS = ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))


def _digit(d, where: str) -> int:
    """One digit 0..9: an int, a one-character string or an integer scalar tensor."""
    if isinstance(d, torch.Tensor) and d.numel() == 1 and not d.is_floating_point() and d.dtype != torch.bool:
        d = int(d)
    if isinstance(d, str) and len(d) == 1 and d in "0123456789":
        d = int(d)
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
        raise ValueError(f"{where} must be integers 0..9, got {d!r}")
    if not 0 <= d < N_DIGITS:
        raise ValueError(f"{where} must be integers 0..9; digit {int(d)} is outside 0..9")
    return int(d)


def _digits_as_given(digits, where: str) -> tuple[int, ...]:
    """Digits in the order given, repeats kept, from a string ("0138"; whitespace and commas
    ignored) or an iterable of digits."""
    if isinstance(digits, str):
        digits = [c for c in digits if not c.isspace() and c != ","]
    try:
        items = list(digits)
    except TypeError:
        raise ValueError(f"{where} must be integers 0..9, got {digits!r}") from None
    return tuple(_digit(d, where) for d in items)


def parse_digits(digits, where: str = "digits") -> tuple[int, ...]:
    """Digits as a sorted tuple without repeats from ``3``, ``"3"``, ``"0,1,2"``, ``"012"``
    or ``(0, 1)`` (whitespace and commas in a string ignored); ``None`` or ``()`` give ``()``."""
    if digits is None:
        return ()
    if isinstance(digits, (int, np.integer)) and not isinstance(digits, (bool, np.bool_)):
        digits = (int(digits),)
    return tuple(sorted(set(_digits_as_given(digits, where))))


def _group(group, where: str) -> tuple[int, ...]:
    if isinstance(group, (int, np.integer)):
        raise ValueError(f"{where}: expected a group of digits (e.g. (0, 1) or '01'), got a bare number {group!r}")
    return _digits_as_given(group, where)


def check_groups(groups) -> tuple[tuple[int, ...], ...]:
    """Validate a partition of the digits 0..9 into >= 2 non-empty groups; return it as tuples.

    Accepted forms:
      * a sequence of groups, each an iterable of ints or a digit string:
        ``((0, 1, 3, 8), (2, 4, 5, 6, 7, 9))`` or ``("0138", "245679")``;
      * one string of digits, e.g. ``"01234"``: group A = those digits, group B = the
        rest (ascending); ``"/"`` or ``"|"`` separates several groups: ``"0138|2456|79"``.
    Digit order within each group is kept as given. Raises ValueError saying what is wrong.
    """
    if isinstance(groups, str):
        if "/" in groups or "|" in groups:
            parts = groups.replace("|", "/").split("/")
            parsed = tuple(_group(p, f"group {i}") for i, p in enumerate(parts))
        else:
            first = _group(groups, "group string")
            rest = tuple(d for d in range(N_DIGITS) if d not in first)
            parsed = (first, rest)
    else:
        try:
            items = list(groups)
        except TypeError:
            raise ValueError(f"groups: expected a sequence of digit groups or a digit string, got {groups!r}") from None
        parsed = tuple(_group(g, f"group {i}") for i, g in enumerate(items))
    if len(parsed) < 2:
        raise ValueError(f"groups: expected at least 2 groups, got {len(parsed)}: {parsed}")
    empty = [i for i, g in enumerate(parsed) if not g]
    if empty:
        raise ValueError(f"groups: group(s) {empty} are empty in {parsed}")
    seen = [d for g in parsed for d in g]
    dupes = sorted({d for d in seen if seen.count(d) > 1})
    missing = sorted(set(range(N_DIGITS)) - set(seen))
    problems = []
    if dupes:
        problems.append(f"digit(s) {dupes} appear more than once")
    if missing:
        problems.append(f"digit(s) {missing} are missing")
    if problems:
        raise ValueError(f"groups must use each digit 0..9 exactly once: {'; '.join(problems)} in {parsed}")
    return parsed


def _as_label_tensor(labels, name: str = "labels") -> torch.Tensor:
    if not isinstance(labels, torch.Tensor):
        try:
            labels = torch.as_tensor(np.asarray(labels))
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{name}: expected an integer tensor of digits 0..9, got {type(labels).__name__}") from exc
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"{name}: expected an integer tensor of digits 0..9, got dtype {labels.dtype}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= N_DIGITS):
        raise ValueError(f"{name}: expected digits in 0..9, got range {int(labels.min())}..{int(labels.max())}")
    return labels


def superclass_labels(labels, groups=DEFAULT_GROUPS) -> torch.Tensor:
    """Map digit labels (0..9) to the index of their group in ``groups``; returns int64, same shape."""
    labels = _as_label_tensor(labels)
    table = torch.empty(N_DIGITS, dtype=torch.int64)
    for c, group in enumerate(check_groups(groups)):
        table[list(group)] = c
    return table.to(labels.device)[labels.long()]


def subclass_order(groups) -> list[int]:
    """Digits in class-major order (concatenation of the groups), matching a c x n_sub logit layout."""
    return [d for g in check_groups(groups) for d in g]


# --------------------------------------------------------------------------- #
# Data selection and splitting
# --------------------------------------------------------------------------- #


def _check_pair(images, labels) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images: expected a torch.Tensor, got {type(images).__name__}")
    if not isinstance(labels, torch.Tensor):
        raise ValueError(f"labels: expected a torch.Tensor, got {type(labels).__name__}")
    if images.dim() < 1:
        raise ValueError("images: expected a tensor with a leading batch dimension [N, ...]")
    if labels.dim() != 1:
        raise ValueError(f"labels: expected a 1-D tensor [N], got shape {tuple(labels.shape)}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"images has {images.shape[0]} rows but labels has {labels.shape[0]}; they must match")
    return _as_label_tensor(labels)


def _digit_set(digits) -> set[int]:
    if digits is None:  # parse_digits reads None as "no digits"; here it is a missing argument
        raise ValueError("digits must be integers 0..9, got None")
    return set(parse_digits(digits))


def keep_digits(images: torch.Tensor, labels: torch.Tensor, digits) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep only the examples whose label is in ``digits`` (ints or a string like "38")."""
    labels = _check_pair(images, labels)
    keep = _digit_set(digits)
    mask = torch.zeros(N_DIGITS, dtype=torch.bool)
    mask[sorted(keep)] = True
    sel = mask.to(labels.device)[labels.long()]
    if not bool(sel.any()):
        raise ValueError(f"keep_digits: no examples left after keeping digits {sorted(keep)}")
    return images[sel], labels[sel]


def omit_digits(images: torch.Tensor, labels: torch.Tensor, digits) -> tuple[torch.Tensor, torch.Tensor]:
    """Remove the examples whose label is in ``digits`` (ints or a string like "3")."""
    _check_pair(images, labels)
    omit = _digit_set(digits)
    remaining = set(range(N_DIGITS)) - omit
    if not remaining:
        raise ValueError("omit_digits: omitting all ten digits would leave no data")
    try:
        return keep_digits(images, labels, sorted(remaining))
    except ValueError:
        raise ValueError(f"omit_digits: no examples left after omitting digits {sorted(omit)}") from None


def _sorted_perm(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=g)


def train_val_split(
    images: torch.Tensor, labels: torch.Tensor, val_size: int | float = 5000, seed: int = 0
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Deterministic random split into ``((x_train, y_train), (x_val, y_val))``.

    ``val_size``: an int count (1 <= val_size < N) or a float fraction in (0, 1)
    (rounded to a count). Both parts keep the original relative order.
    """
    labels = _check_pair(images, labels)
    seed = check_seed(seed)
    n = labels.shape[0]
    if isinstance(val_size, (bool, np.bool_)):
        raise ValueError(f"val_size: expected an int count or a float fraction in (0, 1), got {val_size!r}")
    if isinstance(val_size, (int, np.integer)):
        n_val = int(val_size)
    elif isinstance(val_size, (float, np.floating)):
        if not 0.0 < float(val_size) < 1.0:
            raise ValueError(f"val_size: a float must be a fraction in (0, 1), got {val_size}")
        n_val = int(round(float(val_size) * n))
    else:
        raise ValueError(f"val_size: expected an int count or a float fraction in (0, 1), got {val_size!r}")
    if not 1 <= n_val < n:
        raise ValueError(f"val_size: need 1 <= validation size < N={n} so both parts are non-empty, got {n_val}")
    perm = _sorted_perm(n, seed).to(labels.device)
    val_idx, _ = perm[:n_val].sort()
    tr_idx, _ = perm[n_val:].sort()
    return (images[tr_idx], labels[tr_idx]), (images[val_idx], labels[val_idx])


#: Validation images held out of the training set: the first 5,000 of a permutation seeded with
#: :data:`SPLIT_SEED` (data, not a seed of a run: the same for every run and reader seed).
VAL_SIZE = 5000
SPLIT_SEED = 0


@functools.lru_cache(maxsize=1)
def load_splits():
    """``(x_train, y_train), (x_val, y_val), (x_test, y_test)``: MNIST's 55,000 training, 5,000
    validation (:data:`VAL_SIZE`) and 10,000 test images with their digits; split once per
    process, so every model and evaluation reads the same tensors."""
    tr, te = load_mnist("train"), load_mnist("test")
    (xt, yt), (xv, yv) = train_val_split(tr.images, tr.labels, val_size=VAL_SIZE, seed=SPLIT_SEED)
    return (xt, yt), (xv, yv), (te.images, te.labels)


def subset(
    images: torch.Tensor, labels: torch.Tensor, fraction: float, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic simple random subset of ``round(fraction * N)`` examples (at least 1), original order kept.

    ``fraction`` must be in (0, 1]; 1 returns the inputs unchanged.
    """
    labels = _check_pair(images, labels)
    seed = check_seed(seed)
    if isinstance(fraction, (bool, np.bool_)) or not isinstance(fraction, (int, float, np.integer, np.floating)):
        raise ValueError(f"fraction: expected a number in (0, 1], got {fraction!r}")
    fraction = float(fraction)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction: expected a number in (0, 1], got {fraction}")
    n = labels.shape[0]
    if fraction == 1.0:
        return images, labels
    if n == 0:
        raise ValueError("subset: the input is empty")
    k = max(1, int(round(fraction * n)))
    idx, _ = _sorted_perm(n, seed)[:k].sort()
    idx = idx.to(labels.device)
    return images[idx], labels[idx]


# --------------------------------------------------------------------------- #
# Augmentation
# --------------------------------------------------------------------------- #


def _shift_images(images: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Shift each 28x28 image by its own integer (dx, dy); zero fill; one gather of windows.

    ``shifts[b] = (dx, dy)``: positive dx moves content right, positive dy moves it
    down, i.e. ``out[b, i, j] = in[b, i - dy, j - dx]`` (zero where out of frame).
    The zero-padded batch is viewed as its (2m+1)^2 windows of 28x28 (no copy) and each
    image takes its window: about 4x faster than indexing every pixel.
    """
    b = images.shape[0]
    m = int(shifts.abs().max()) if shifts.numel() else 0
    if m == 0:
        return images.clone()
    m = min(m, IMAGE_SIDE)
    x = images.reshape(b, IMAGE_SIDE, IMAGE_SIDE)
    padded = torch.nn.functional.pad(x, (m, m, m, m))
    windows = padded.unfold(1, IMAGE_SIDE, 1).unfold(2, IMAGE_SIDE, 1)  # [B, 2m+1, 2m+1, 28, 28]
    dx = shifts[:, 0].clamp(-m, m)
    dy = shifts[:, 1].clamp(-m, m)
    return windows[torch.arange(b, device=images.device), m - dy, m - dx].reshape(b, N_PIXELS)


def jitter(
    images: torch.Tensor,
    max_shift: int = 2,
    generator: torch.Generator | None = None,
    shifts: torch.Tensor | None = None,
) -> torch.Tensor:
    """Shift each image [B, 784] by an independent random integer (dx, dy) in [-max_shift, max_shift].

    Vacated pixels are zero. ``max_shift=0`` returns ``images`` itself. ``shifts`` (an
    integer tensor [B, 2] of (dx, dy), +dx = right, +dy = down) replaces the random draw,
    for tests and reproducible augmentation. Returns a new tensor of the same dtype.
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images: expected a torch.Tensor [B, {N_PIXELS}], got {type(images).__name__}")
    if images.dim() != 2 or images.shape[1] != N_PIXELS:
        raise ValueError(f"images: expected shape [B, {N_PIXELS}], got {tuple(images.shape)}")
    if isinstance(max_shift, (bool, np.bool_)) or not isinstance(max_shift, (int, np.integer)):
        raise ValueError(f"max_shift: expected an int in 0..{IMAGE_SIDE - 1}, got {max_shift!r}")
    max_shift = int(max_shift)
    if not 0 <= max_shift < IMAGE_SIDE:
        raise ValueError(f"max_shift: expected an int in 0..{IMAGE_SIDE - 1}, got {max_shift}")
    b = images.shape[0]
    if shifts is not None:
        if not isinstance(shifts, torch.Tensor) or shifts.is_floating_point() or shifts.dtype == torch.bool:
            raise ValueError("shifts: expected an integer tensor [B, 2] of (dx, dy)")
        if tuple(shifts.shape) != (b, 2):
            raise ValueError(f"shifts: expected shape [{b}, 2], got {tuple(shifts.shape)}")
        return _shift_images(images, shifts.to(device=images.device, dtype=torch.int64))
    if max_shift == 0:
        return images
    gen_device = generator.device if generator is not None else images.device
    draw = torch.randint(-max_shift, max_shift + 1, (b, 2), generator=generator, device=gen_device)
    return _shift_images(images, draw.to(images.device))


def random_view(
    images: torch.Tensor,
    max_shift: int = 1,
    noise: float = 0.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A perturbed copy of a batch [B, 784]: each image shifted by a random integer
    (dx, dy) in [-max_shift, max_shift] (:func:`jitter`), plus Gaussian pixel noise of
    standard deviation ``noise`` (not clipped). The copy a consistency loss compares with the
    original (chapter 4). ``generator`` makes the draw repeatable; it must live on the
    images' device."""
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)):
        raise ValueError(f"noise: expected a real number >= 0, got {noise!r}")
    noise = float(noise)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise: expected a finite number >= 0, got {noise}")
    out = jitter(images, max_shift, generator=generator)
    if noise > 0:
        gen_device = generator.device if generator is not None else images.device
        eps = torch.randn(images.shape, generator=generator, device=gen_device, dtype=images.dtype)
        out = out + noise * eps.to(images.device)
    return out
