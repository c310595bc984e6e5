"""Keep N cores busy, to check that the test suite stays green on a loaded machine.

    python3 benchmarks/load.py 2 --seconds 1800 &
    python3 -m pytest -q
    kill %1

Each of the N processes spins on integer arithmetic (no memory traffic to
speak of) until ``--seconds`` have passed or the script is stopped; it stops
its processes on SIGTERM and Ctrl-C.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
import time


def spin(until: float) -> None:
    x = 0
    while time.monotonic() < until:
        for _ in range(100_000):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("processes", type=int, help="busy processes to run (cores to load)")
    parser.add_argument("--seconds", type=float, default=3600, help="stop after this long")
    args = parser.parse_args()
    until = time.monotonic() + args.seconds
    workers = [
        multiprocessing.Process(target=spin, args=(until,), daemon=True)
        for _ in range(args.processes)
    ]
    for w in workers:
        w.start()

    def stop(signum: int, frame: object) -> None:
        for w in workers:
            w.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"loading {args.processes} cores for {args.seconds:.0f} s", flush=True)
    for w in workers:
        w.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
