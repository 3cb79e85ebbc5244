"""Benchmark JSON files (`--json`) as one Markdown table, for benchmarks/README.md.

python -m benchmarks.report results/*.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _cell(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def markdown(paths: Sequence[Path]) -> str:
    lines = [
        "| benchmark | figure | value | baseline | ratio | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in paths:
        payload = json.loads(path.read_text(encoding="utf-8"))
        for row in payload["rows"]:
            met = {True: "yes", False: "**no**", None: ""}[row["met"]]
            lines.append(
                f"| {payload['benchmark']} | {row['figure']} | {_cell(row['value'], row['unit'])}"
                f" | {_cell(row['baseline'], row['unit'])} | {_cell(row['ratio'])}"
                f" | {row['target']} | {met} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    paths = [Path(arg) for arg in (argv if argv is not None else sys.argv[1:])]
    print(markdown(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
