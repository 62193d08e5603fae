"""Regenerates docs/config-reference.md from the config dataclasses (tests/test_docs.py checks it)."""

from pathlib import Path

from rl2.config import config_reference

if __name__ == "__main__":
    path = Path(__file__).resolve().parent.parent / "docs" / "config-reference.md"
    path.write_text(config_reference() + "\n")
    print(f"written {path}")
