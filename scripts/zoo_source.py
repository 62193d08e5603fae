"""Restores the zoo agent a shipped agent's training started from, as it was then.

    python scripts/zoo_source.py bandit-n500-k50 [--out b100k50.pt]

An entry trained with ``--init-from zoo:NAME`` records the SHA-256 of that file (``starts_from``). While
zoo:NAME is still that file, the entry's command runs as written. Once a better agent has replaced it,
the old file is found in this checkout's git history by its checksum and written out; the command then
runs with ``--init-from FILE`` in place of ``zoo:NAME``, which this prints.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

from rl2.atomic import write_atomic
from rl2.checkpoint import CheckpointError
from rl2.zoo import entry_named, load_index, zoo_dir
from zoo_add import refuse  # the scripts' own folder is on the path of either


def git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=True).stdout


def file_in_history(path: Path, sha256: str) -> tuple[str, bytes] | None:
    """The newest commit whose version of `path` has this SHA-256, and those bytes (None: no such commit)."""
    try:
        root = Path(git(path.parent, "rev-parse", "--show-toplevel").decode().strip())
    except (OSError, subprocess.CalledProcessError):
        refuse(f"{path.parent} is not in a git checkout: the history that holds earlier zoo agents is not here")
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    for commit in git(root, "log", "--format=%H", "--", relative).decode().split():
        try:
            data = git(root, "show", f"{commit}:{relative}")
        except subprocess.CalledProcessError:  # the commit that removed the file
            continue
        if hashlib.sha256(data).hexdigest() == sha256:
            return commit, data
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="a shipped agent (zoo:NAME or NAME)")
    parser.add_argument("--out", type=Path, default=None, help="where to write the source agent "
                                                                "(default: SOURCE-SHA8.pt here)")
    args = parser.parse_args()

    try:
        entry = entry_named(args.name.removeprefix("zoo:"))
    except CheckpointError as e:
        refuse(str(e))
    source = entry.starts_from
    if source is None:
        print(f"zoo:{entry.name} did not start from a zoo agent: its command runs as written")
        return 0
    current = {e.name: e for e in load_index()}.get(source["name"])
    if current is not None and current.sha256 == source["sha256"]:
        print(f"zoo:{source['name']} is still the agent zoo:{entry.name} started from: its command runs as written")
        return 0
    path = zoo_dir() / (current.path if current is not None else f"{source['name']}.pt")
    found = file_in_history(path, source["sha256"])
    if found is None:
        refuse(f"no commit here holds the zoo:{source['name']} that zoo:{entry.name} started from "
               f"(SHA-256 {source['sha256'][:12]}…)")
    commit, data = found
    out = args.out or Path(f"{source['name']}-{source['sha256'][:8]}.pt")
    write_atomic(out, data)
    print(f"wrote {out}: zoo:{source['name']} as of commit {commit[:10]}, where zoo:{entry.name} started from. "
          f"Its command with that start:")
    print(entry.command.replace(f"zoo:{source['name']}", str(out), 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
