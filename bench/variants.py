"""bench/pipeline.py --compare: the required columns only against every field, in turn."""

import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The run's own report starts here (the worker's banner may come before it).
FIRST_LINE = re.compile(r"^leads\s", re.M)
FIGURES = {
    "created": re.compile(r"^created -> completed\s+([\d.]+) s", re.M),
    "upload": re.compile(r"^upload -> completed\s+([\d.]+) s", re.M),
}


def compare(args, *, script: str) -> None:
    """Run the required-columns variant and --every-field in turn; print their ratio.

    Each run is this script in a child process (its own scratch database and worker), so
    one variant's rows and claims never meet the other's; alternating them spreads the
    shared machine's ups and downs over both.
    """
    passed = ["-n", str(args.leads), "--pg", args.pg, "--redis", args.redis]
    passed += ["--concurrency", str(args.concurrency), "--chunk-size", str(args.chunk_size)]
    if args.dedupe_on_email:
        passed.append("--dedupe-on-email")
    variants = {"required only": ["--no-contact"], "every field": ["--every-field"]}
    times: dict[str, dict[str, list[float]]] = {
        name: {figure: [] for figure in FIGURES} for name in variants
    }
    for round_number in range(1, args.rounds + 1):
        # Each variant goes first in every other round.
        order = list(variants) if round_number % 2 else list(reversed(variants))
        for name in order:
            done = subprocess.run(
                [sys.executable, script, *passed, *variants[name]],
                cwd=ROOT,
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            print(f"--- round {round_number}, {name}")
            print(done.stdout[FIRST_LINE.search(done.stdout).start() :], end="")
            for figure, pattern in FIGURES.items():
                times[name][figure].append(float(pattern.search(done.stdout).group(1)))
    print(f"--- {args.leads:,} leads, {args.rounds} runs of each, taken in turn (median)")
    for figure in FIGURES:
        base = statistics.median(times["required only"][figure])
        full = statistics.median(times["every field"][figure])
        runs = {name: ", ".join(f"{t:.2f}" for t in times[name][figure]) for name in variants}
        print(f"{figure} -> completed")
        print(f"  required only  {base:.2f} s   ({runs['required only']})")
        print(f"  every field    {full:.2f} s   ({runs['every field']})")
        print(f"  ratio          {full / base:.3f} (every field / required only)")
