"""Time and memory of the largest accepted input of each kind (docs/limits.md), whole processes.

Run from the repository root with the project installed:  python benchmarks/hazards.py
Writes benchmarks/hazards.json. Each case runs once after a warm-up of the interpreter (these take
seconds, not milliseconds); peak RSS comes from os.wait4. A refused input must be refused quickly:
its case records the exit status too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "hazards.json"
CONVCOST = [sys.executable, "-m", "conv_cost"]


def repeat(times: int, body: str) -> str:
    return f"input: [1, 1, 1]\nlayers:\n  - {{type: repeat, times: {times}, body: [{body}]}}\n"


def fan_out() -> str:
    lines = ["input: [1, 1, 1]", "blocks:", "  t0:", "    layers: [{type: relu}]"]
    for i in range(1, 10):
        lines += [f"  t{i}:", f"    layers: [{{type: t{i - 1}}}, {{type: t{i - 1}}}, {{type: t{i - 1}}}, {{type: t{i - 1}}}]"]
    return "\n".join([*lines, "layers: [{type: t9}]"]) + "\n"


def eight_mib() -> str:
    parts, size, n = ["input: [8, 8, 3]\nlayers:\n"], 0, 0
    while True:
        line = f"  - {{type: relu, name: r{n}}}\n"
        if size + len(line) > 8 * 1024 * 1024 - 32:
            return "".join(parts)
        parts.append(line)
        size += len(line)
        n += 1


def models(count: int, layers: int) -> str:
    return "\n".join(["input: [1, 1, 1]", "blocks:", "  t:",
                      f"    layers: [{{type: repeat, times: {layers}, body: [{{type: relu}}]}}]", "models:",
                      *(f"  - {{name: m{i}, layers: [{{type: t, name: b{i}}}]}}" for i in range(count))]) + "\n"


CASES = [
    ("1,000,000 layers (repeat)", "million.yaml", lambda: repeat(1_000_000, "{type: relu}"), ["report", "--json"]),
    ("1,000,000 layers (repeat)", "million.yaml", None, ["report"]),
    ("100,000 layers (repeat)", "r100k.yaml", lambda: repeat(100_000, "{type: relu}"), ["report", "--format", "html"]),
    ("100,000 layers (repeat)", "r100k.yaml", None, ["explain", "--json"]),
    ("8 MiB of plain layers", "eight.yaml", eight_mib, ["check"]),
    ("8 MiB of plain layers", "eight.yaml", None, ["report", "--json"]),
    ("template fan-out to 262,144 layers", "fan.yaml", fan_out, ["report", "--json"]),
    ("100,000 pools of stride 10^18 - 1", "rf.yaml",
     lambda: "input: [4, 4, 1]\nlayers:\n  - {type: repeat, times: 100000, body: "
             "[{type: maxpool, kernel: 1, stride: 999999999999999999}]}\n", ["report", "--json"]),
    ("1,000 models x 1,000 layers", "models.yaml", lambda: models(1000, 1000), ["compare", "--json"]),
    ("10,000 models (the limit)", "m10k.yaml",
     lambda: "input: [1, 1, 1]\nmodels:\n" + "- {layers: [{type: relu}]}\n" * 10_000, ["compare", "--json"]),
    ("refused: 1,000,000 adds of 10,000 inputs", "adds.yaml",
     lambda: repeat(1_000_000, "{type: add, inputs: [" + ", ".join(["input"] * 10_000) + "]}"), ["check"]),
    ("refused: explain of 1,000,000 layers", "million.yaml", None, ["explain", "--json"]),
]


def run(cmd: list[str], cwd: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return {"seconds": round(time.perf_counter() - start, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024),
            "exit_status": os.waitstatus_to_exitcode(status)}


def main() -> int:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "conv_cost")], check=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for what, name, make, args in CASES:
            if make is not None:
                (Path(tmp) / name).write_text(make())
            result = {"input": what, "command": " ".join(["convcost", args[0], name, *args[1:]]),
                      **run([*CONVCOST, args[0], name, *args[1:]], tmp)}
            print(f"{result['command']:45} {result['seconds']:7.2f} s {result['peak_rss_mib']:6d} MiB "
                  f"exit {result['exit_status']}  ({what})", flush=True)
            results.append(result)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
