"""Atomic, checksummed checkpoints: a kill during a save never leaves one that loads wrong.

File layout: one header line ``RL2CKPT <format> <sha256 of payload>\\n`` followed by the payload,
a ``torch.save`` of a dict of tensors, numbers and strings (loaded with ``weights_only=True``).
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

import torch

from rl2.atomic import write_atomic

FORMAT_VERSION = 2  # 2: the tagged config of the family registry; format 1 configs are migrated (rl2.migrate)
MAGIC = b"RL2CKPT"
_NAME = re.compile(r"^ckpt-(\d{8})\.pt$")


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, corrupted or from an incompatible format."""


def checkpoint_name(update: int) -> str:
    return f"ckpt-{update:08d}.pt"


def save_checkpoint(directory: Path, update: int, state: dict[str, Any], keep: int = 3) -> Path:
    """Writes ``state`` as the checkpoint of `update` in a run's directory; keeps the newest `keep`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = write_checkpoint(directory / checkpoint_name(update), state)
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def write_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Writes one checkpoint file atomically (``rl2.atomic.write_atomic``): header line, then payload."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    header = b"%s %d %s\n" % (MAGIC, FORMAT_VERSION, hashlib.sha256(payload).hexdigest().encode())
    return write_atomic(path, header + payload)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Reads and verifies one checkpoint file; raises CheckpointError naming what is wrong."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror}") from None
    header, sep, payload = data.partition(b"\n")
    parts = header.split(b" ")
    if not sep or len(parts) != 3 or parts[0] != MAGIC or not parts[1].isdigit():
        raise CheckpointError(f"{path} is not an rl2 checkpoint (bad header)")
    version = int(parts[1])
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {version}, newer than this rl2 reads ({FORMAT_VERSION}): upgrade rl2"
        )
    if hashlib.sha256(payload).hexdigest().encode() != parts[2]:
        raise CheckpointError(f"{path} is truncated or corrupted (checksum mismatch)")
    try:
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as e:  # a payload that passed its checksum but does not unpickle: wrong writer
        raise CheckpointError(f"{path} cannot be decoded: {e}") from None


def read_warm_start(path: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The checkpoint file a warm start from `path` (a checkpoint file, or a run directory's newest valid
    checkpoint) reads, its policy weights (with the normalizers' statistics), and the config it was trained
    on, by section (its task and policy sections say which optional inputs its network read)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"cannot start from {path}: it does not exist")
    file, state = read_file_or_run(path)
    return file, state["learner"]["policy"], state.get("config", {})


def load_file_or_run(path: Path) -> dict[str, Any]:
    """A checkpoint file's state, or that of a run directory's (or checkpoint folder's) newest valid one."""
    return read_file_or_run(path)[1]


def read_file_or_run(path: Path) -> tuple[Path, dict[str, Any]]:
    """``load_file_or_run`` with the file it read."""
    path = Path(path)
    if not path.is_dir():
        return path, load_checkpoint(path)
    return load_latest(path / "checkpoints" if list_checkpoints(path / "checkpoints") else path)


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoint files in a directory, oldest update first."""
    if not Path(directory).is_dir():
        return []
    return sorted(p for p in Path(directory).iterdir() if _NAME.match(p.name))


def load_latest(directory: Path) -> tuple[Path, dict[str, Any]]:
    """The newest checkpoint that verifies (a broken newest one falls back to the one before)."""
    errors = []
    for path in reversed(list_checkpoints(directory)):
        try:
            return path, load_checkpoint(path)
        except CheckpointError as e:
            errors.append(str(e))
    if errors:
        raise CheckpointError(f"no valid checkpoint in {directory}: {errors[0]}")
    raise CheckpointError(f"no checkpoint in {directory}")

