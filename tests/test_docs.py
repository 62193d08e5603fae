"""The docs match the code, and every example script runs as a user would run it (tiny budgets)."""

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from rl2.config import config_reference

ROOT = Path(__file__).resolve().parent.parent


def test_config_reference_is_generated_from_the_code():
    page = (ROOT / "docs" / "config-reference.md").read_text()
    assert page == config_reference() + "\n", (
        "docs/config-reference.md is out of date: run python scripts/make_config_reference.py")


def test_config_reference_documents_exactly_the_config_flags_that_rl2_train_takes():
    # What a user sees: the flags `rl2 train --help` prints, against the flag column of the page.
    help_text = subprocess.run([sys.executable, "-m", "rl2", "train", "--help"], capture_output=True, text=True,
                               timeout=120, check=True).stdout
    offered = set(re.findall(r"(--[a-z][a-z0-9-]*) [A-Z]+", help_text))
    page = (ROOT / "docs" / "config-reference.md").read_text()
    documented = set(re.findall(r"^\| `[a-z_0-9]+` \| `(--[a-z0-9-]+)` \|", page, flags=re.MULTILINE))
    assert len(documented) > 30
    assert not documented - offered, f"documented but not taken by rl2 train: {sorted(documented - offered)}"
    # Flags of the command itself (not config fields) take a path or nothing: every other flag is documented.
    own = {"--run-dir", "--resume"}
    assert not offered - documented - own, \
        f"missing from docs/config-reference.md: {sorted(offered - documented - own)}"


def test_docs_links_point_to_existing_files():
    for page in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lowercased, punctuation dropped (letters, marks,
    digits, spaces, hyphens and underscores kept), spaces to hyphens, repeats numbered -1, -2, ..."""
    anchors, seen = set(), {}
    for heading in re.findall(r"^#{1,6} (.+)$", page.read_text(), flags=re.MULTILINE):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        slug = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN").replace(" ", "-")
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def test_docs_links_to_a_section_name_an_existing_heading():
    for page in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]:
        for target, anchor in re.findall(r"\]\(([^)#:\s]*)#([^)\s]+)\)", page.read_text()):
            linked = page.parent / target if target else page
            if linked.suffix == ".md" and linked.exists():
                assert anchor in heading_anchors(linked), f"{page.name} links to a missing section {target}#{anchor}"


@pytest.mark.parametrize("script, args", [
    ("bandits.py", ["--total-steps", "2400", "--trials", "50"]),
    ("mdp.py", ["--total-steps", "4800", "--trials", "50"]),
    ("switching.py", ["--total-steps", "24000", "--trials", "50", "--run-dir", "run"]),
    ("maze.py", ["--tiny", "--updates", "2", "--trials", "20"]),
])
def test_example_runs(script, args, tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], capture_output=True, text=True,
                       cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "held-out" in r.stdout or "mean total reward" in r.stdout
    if script == "switching.py":
        assert (tmp_path / "run" / "report.html").is_file() and (tmp_path / "run" / "plots" / "regret.png").is_file()
    if script == "maze.py":
        assert "| episode | small (5x5) | large (9x9) |" in r.stdout and (tmp_path / "maze-example.pt").is_file()
    if script == "mdp.py":
        assert (tmp_path / "mdp-example.pt").is_file() and "UCRL2" in r.stdout
