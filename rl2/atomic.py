"""Atomic file writes: a reader (or a resumed run after a kill) sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomic(path: Path | str, data: bytes | str) -> Path:
    """Replaces the file at `path` by `data` (str: UTF-8) whole: temp file, flush, fsync, rename, fsync of the folder.

    The temp file lies beside the target (a rename is atomic only within one file system) under a
    name of its own, so two processes writing the same path (a shared cache) never mix their bytes;
    it is removed if anything fails, and the old file is then left as it was.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data  # encoded before anything is touched
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:  # 'x': never another writer's temp file; mode 0o666 less the umask
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(directory: Path) -> None:
    """Flushes a folder's entries to disk: a rename is durable only once the folder is."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
