"""Benchmark: start-up time of ``import meterlib`` and ``meterlib --help`` above bare Python.

Each command runs in a fresh interpreter, several times, with bytecode already cached (one warm-up
run first); the figure is the median wall time minus the median of ``python -c pass`` measured in
the same run, so the machine's own interpreter start-up is the bound printed beside it.

Run it as ``python bench/bench_startup.py``; targets: ``import meterlib`` <= 150 ms and
``meterlib --help`` <= 250 ms above ``python -c pass``. It ends with a ``RESULT`` line for the
README's performance table (``bench/report.py``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from results import emit

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import meterlib": [sys.executable, "-c", "import meterlib"],
    "meterlib --help": [sys.executable, "-m", "meterlib", "--help"],
}
TARGETS_MS = {"import meterlib": 150.0, "meterlib --help": 250.0}


def median_ms(argv: list[str], runs: int) -> float:
    """Median wall time of ``runs`` fresh runs of ``argv`` in milliseconds (after one warm-up)."""
    subprocess.run(argv, check=True, capture_output=True)  # noqa: S603  (our own interpreter)
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)  # noqa: S603
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    """Time each command and print the figures above bare Python with their targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="runs of each command")
    options = parser.parse_args()
    figures = {name: median_ms(argv, options.runs) for name, argv in COMMANDS.items()}
    base = figures["python -c pass"]
    print(f"python -c pass: {base:.0f} ms (median of {options.runs}; the bound)")
    above = {name: figures[name] - base for name in TARGETS_MS}
    for name, target in TARGETS_MS.items():
        verdict = "met" if above[name] <= target else "NOT met"
        print(
            f"{name}: {figures[name]:.0f} ms, {above[name]:.0f} ms above bare Python "
            f"(target <= {target:.0f} ms: {verdict})"
        )
    emit(
        "startup",
        what="start-up: `import meterlib` and `meterlib --help` above `python -c pass`"
        " (bytecode cached)",
        target="; ".join(f"≤ {target:.0f} ms" for target in TARGETS_MS.values()),
        measured=" and ".join(f"{above[name]:.0f} ms" for name in TARGETS_MS)
        + f" above bare Python (median of {options.runs} fresh runs each)",
        met=all(above[name] <= target for name, target in TARGETS_MS.items()),
        bound=f"`python -c pass` itself: {base:.0f} ms (median, same run)",
        command="python bench/bench_startup.py",
    )


if __name__ == "__main__":
    main()
