"""`--set FIELD=VALUE` pairs of the benchmarks, as config overrides (numbers and booleans parsed)."""

from __future__ import annotations


def parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        for kind in (int, float):
            try:
                out[key] = kind(text)
                break
            except ValueError:
                continue
        else:
            out[key] = {"true": True, "false": False}.get(text.lower(), text)
    return out
