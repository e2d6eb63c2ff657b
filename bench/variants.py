"""bench/pipeline.py --compare: two variants of the same leads in turn (columns, enrichment)."""

import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The run's own report starts here (the worker's banner may come before it).
FIRST_LINE = re.compile(r"^(leads|machine speed)\s", re.M)
FIGURES = {
    "created -> completed": re.compile(r"^created -> completed\s+([\d.]+) s", re.M),
    "upload -> completed": re.compile(r"^upload -> completed\s+([\d.]+) s", re.M),
}
# With --in-process: each phase's wall clock and the CPU it took in Python and PostgreSQL,
# which another load on a shared machine disturbs less than the wall clock.
PHASE = re.compile(
    r"^\s+\w+\s+wall\s+([\d.]+) s\s+Python\s+([\d.]+) s\s+PostgreSQL\s+([\d.]+) s", re.M
)
IN_PROCESS_FIGURES = {
    "wall, all phases": lambda out: sum(float(m[0]) for m in PHASE.findall(out)),
    "CPU, Python + PostgreSQL": lambda out: sum(
        float(m[1]) + float(m[2]) for m in PHASE.findall(out)
    ),
}


COMPARE_FLAGS = ("--compare", "--compare-enrich")
COLUMN_VARIANTS = {"required only": ["--no-contact"], "every field": ["--every-field"]}
ENRICH_VARIANTS = {
    "without enrichment": ["--every-field", "--no-enrich"],
    "with enrichment": ["--every-field"],
}


def passed_on(argv: list[str], variants: dict[str, list[str]]) -> list[str]:
    """The command line for each run: every option given but those that pick the variant
    (so `--compare --no-enrich` compares the columns with enrichment off in both)."""
    picking = {*COMPARE_FLAGS, *(flag for flags in variants.values() for flag in flags)}
    passed, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--rounds":
            skip = True  # and its value
        elif arg not in picking and not (arg.startswith("--rounds=")):
            passed.append(arg)
    return passed


def compare(args, *, script: str, variants: dict[str, list[str]] = COLUMN_VARIANTS) -> None:
    """Run two variants (by default required columns, then every field) in turn; print the
    ratio of the second's time to the first's.

    Each run is this script in a child process (its own scratch database and worker), so
    one variant's rows and claims never meet the other's; alternating them spreads the
    shared machine's ups and downs over both.
    """
    passed = passed_on(sys.argv[1:], variants)
    figures = {
        name: (lambda out, pattern=pattern: float(pattern.search(out).group(1)))
        for name, pattern in FIGURES.items()
    }
    if args.in_process:
        figures = IN_PROCESS_FIGURES
    base_name, other_name = variants
    times = {name: {figure: [] for figure in figures} for name in variants}
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
            for figure, read in figures.items():
                times[name][figure].append(read(done.stdout))
    print(f"--- {args.leads:,} leads, {args.rounds} runs of each, taken in turn (median)")
    for figure in figures:
        base = statistics.median(times[base_name][figure])
        full = statistics.median(times[other_name][figure])
        runs = {name: ", ".join(f"{t:.2f}" for t in times[name][figure]) for name in variants}
        width = max(len(name) for name in variants) + 2
        print(figure)
        print(f"  {base_name:<{width}}{base:.2f} s   ({runs[base_name]})")
        print(f"  {other_name:<{width}}{full:.2f} s   ({runs[other_name]})")
        print(f"  {'ratio':<{width}}{full / base:.3f} ({other_name} / {base_name})")
