"""The one atomic write: the file is the old one or the new one, whole, and no temp file is left."""

import os

import pytest

from rl2 import atomic
from rl2.atomic import write_atomic


def test_writes_bytes_and_text_and_leaves_no_temp_file(tmp_path):
    data = bytes(range(256)) * 100
    assert write_atomic(tmp_path / "a.bin", data) == tmp_path / "a.bin"
    assert (tmp_path / "a.bin").read_bytes() == data
    write_atomic(str(tmp_path / "b.txt"), "λ-returns\r\nline 2\n")  # str: UTF-8, line ends kept as given
    assert (tmp_path / "b.txt").read_bytes() == "λ-returns\r\nline 2\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.txt"]


def test_replaces_an_existing_file_whole(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("x" * 10_000)
    write_atomic(path, "short\n")
    assert path.read_text() == "short\n"  # no tail of the longer old content
    assert os.listdir(tmp_path) == ["config.json"]


def test_a_failed_encoding_leaves_the_old_file(tmp_path):
    path = tmp_path / "eval.json"
    path.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "half \ud800 of a surrogate pair")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["eval.json"]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failure_while_writing_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, step):
    path = tmp_path / "ckpt-00000001.pt"
    path.write_bytes(b"old checkpoint")

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, step, fail)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, b"new checkpoint")
    monkeypatch.undo()
    assert path.read_bytes() == b"old checkpoint"
    assert os.listdir(tmp_path) == [path.name]
