"""The shared helpers: one atomic writer, one mean_std, one parse_digits, one soft_targets."""

from __future__ import annotations

import os

import pytest
import torch

from subclass_lib import data as D
from subclass_lib import files, losses, metrics


def test_atomic_write_bytes_text_and_writer(tmp_path):
    p = files.atomic_write(tmp_path / "new" / "a.bin", b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    files.atomic_write(p, "caf\u00e9\n")
    assert p.read_text(encoding="utf-8") == "caf\u00e9\n"
    files.atomic_write(p, lambda f: torch.save({"x": torch.arange(3)}, f), mode=0o644)
    assert torch.equal(torch.load(p, weights_only=True)["x"], torch.arange(3))
    assert os.stat(p).st_mode & 0o777 == 0o644
    assert sorted(os.listdir(p.parent)) == ["a.bin"]  # no temporary file left


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    p = files.atomic_write(tmp_path / "a.txt", "old")

    def boom(f):
        f.write(b"half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        files.atomic_write(p, boom)
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_atomic_write_flushes_the_file_and_then_its_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else None)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    files.atomic_write(tmp_path / "a.bin", b"abc")
    assert synced in ([False, True], [None, None])  # the data, then the folder that holds the rename

    def boom(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk on fire"):
        files.atomic_write(tmp_path / "b.bin", b"abc")
    assert sorted(os.listdir(tmp_path)) == ["a.bin"]  # no b.bin, no temporary file


def test_mean_std_keeps_each_callers_ddof():
    assert metrics.mean_std([1.0, 3.0], ddof=0) == (2.0, 1.0)
    m, s = metrics.mean_std([1.0, 3.0], ddof=1)
    assert m == 2.0 and s == pytest.approx(2 ** 0.5)
    assert metrics.mean_std([5.0], ddof=1) == (5.0, 0.0) == metrics.mean_std([5.0], ddof=0)


def test_one_parse_digits_and_one_soft_targets():
    from subclass_lib.experiments import hinton as H

    assert H.parse_digits is D.parse_digits and H.soft_targets is losses.soft_targets
    assert D.parse_digits(None) == () == D.parse_digits(())
    assert D.parse_digits([torch.tensor(4)]) == (4,) and D.parse_digits("7 3,3") == (3, 7)
    with pytest.raises(ValueError, match="outside 0..9"):
        D.parse_digits([10])
    with pytest.raises(ValueError, match="digits must be integers"):
        D.parse_digits(True)
