"""The zoo: trained agents shipped with rl2, listed in ``zoo/index.json`` and loaded by name as
``zoo:NAME`` (``RL2.load("zoo:bandit-n10-k5")``, ``rl2 eval zoo:NAME``, ``--init-from zoo:NAME``).

Each agent is a weights-only checkpoint (the policy's weights and normalizer statistics, its config and
counters; no optimizer or generator state) beside a manifest entry that says how it was trained (the
exact command), what it measured on held-out tasks, and the file's SHA-256.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rl2.checkpoint import CheckpointError, read_warm_start

PREFIX = "zoo:"
INDEX = "index.json"


@dataclass(frozen=True)
class ZooEntry:
    """One shipped agent, as its manifest entry describes it."""

    name: str  # e.g. "bandit-n10-k5", or "bandit-n10-k5-s1" for another training seed
    preset: str  # the preset it was trained from (``rl2 presets``)
    path: str  # its checkpoint, relative to the zoo folder
    sha256: str  # of that file
    command: str  # the exact command that trained it (warm start included)
    env_steps: int
    train_minutes: float
    threads: int
    seed: int  # training seed
    eval: dict[str, Any]  # mean, ci95, trials and seed of the held-out tasks (and per-episode means)
    paper: float | None = None  # the paper's RL² figure for this setting, where it has one
    notes: str = ""
    # Continuous control: the oracle's and the blind policy's returns per episode index on the same
    # held-out tasks, and the gap closed (benchmarks/adaptation.py); None where a setting has none
    yardsticks: dict[str, Any] | None = None
    # The zoo agent its training started from (the command's first `--init-from zoo:NAME`): {"name",
    # "sha256"} of that file then. A later agent under that name makes `zoo:NAME` in the command point
    # elsewhere; the SHA-256 finds the one it was in git history (scripts/zoo_source.py). None from scratch.
    starts_from: dict[str, str] | None = None


def zoo_dir() -> Path:
    """The zoo's folder: ``RL2_ZOO`` if set, else ``zoo/`` beside the rl2 package (a source checkout)."""
    return Path(os.environ.get("RL2_ZOO") or Path(__file__).resolve().parent.parent / "zoo")


def load_index(directory: Path | None = None) -> list[ZooEntry]:
    """Every entry of the zoo's manifest (none where there is no manifest)."""
    path = (directory or zoo_dir()) / INDEX
    if not path.is_file():
        return []
    try:
        return [ZooEntry(**entry) for entry in json.loads(path.read_text())]
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path} is not a valid zoo manifest: {e}") from None


def entry_named(name: str, directory: Path | None = None) -> ZooEntry:
    """The entry called `name`; CheckpointError naming what the zoo has where there is none."""
    entries = load_index(directory)
    for entry in entries:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in entries) or "nothing yet"
    raise CheckpointError(f"no agent {name!r} in the zoo ({zoo_dir() if directory is None else directory} has "
                          f"{known})")


def setting_agents(directory: Path | None = None) -> list[ZooEntry]:
    """The agent that stands for each setting: the entry named as its preset (``bandit-n10-k5``, not
    the other training seeds ``bandit-n10-k5-s1``)."""
    return [entry for entry in load_index(directory) if entry.name == entry.preset]


def resolve(source: str | Path) -> Path:
    """A checkpoint or run directory as given, or the file of a ``zoo:NAME`` agent."""
    text = str(source)
    if not text.startswith(PREFIX):
        return Path(source)
    return zoo_dir() / entry_named(text[len(PREFIX):]).path


def warm_start_weights(init_from: str | Path) -> tuple[Path, dict, dict]:
    """The file a warm start from `init_from` (a run, a checkpoint or ``zoo:NAME``) reads, its policy
    weights and the config they were trained on."""
    return read_warm_start(resolve(init_from))


def warm_start_source(init_from: str | Path) -> tuple[dict, dict, dict]:
    """Where a warm start from `init_from` begins, for the run's record: the file it reads, with its
    checksum; and that file's policy weights and config."""
    file, weights, config = warm_start_weights(init_from)
    return {"init_from": str(init_from), "file": str(file), "sha256": sha256_of(file)}, weights, config


def zoo_origin(command: str) -> str | None:
    """The zoo agent a training command starts from: the name in its first stage's ``--init-from
    zoo:NAME``, or None (from scratch, or from a local run)."""
    first_stage = command.split(" && ")[0]
    match = re.search(r"--init-from[ =]zoo:(\S+)", first_stage)
    return match.group(1) if match else None


def training_seconds(times: list[float]) -> float:
    """The wall time of a run's training from its logged clock, which restarts at each resume: the sum
    of each stretch's last time (updates redone after a resume count twice: they ran twice)."""
    total, previous = 0.0, 0.0
    for t in times:
        if t < previous:  # a resume started the clock again
            total += previous
        previous = t
    return total + previous


def logged_training(run_dir: str | Path) -> tuple[int, float]:
    """Env steps and seconds of training that a run logged (its metrics.csv, summed over its resumes)."""
    with open(Path(run_dir) / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    return int(rows[-1]["env_steps"]), training_seconds([float(row["time_s"]) for row in rows])


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def weights_only(state: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's state without its optimizer and generators: what the zoo ships."""
    learner = state["learner"]
    return {**state, "learner": {key: learner[key] for key in ("policy", "update", "env_steps")}}


def manifest_json(entries: list[ZooEntry]) -> str:
    return json.dumps([asdict(entry) for entry in entries], indent=2, ensure_ascii=False) + "\n"
