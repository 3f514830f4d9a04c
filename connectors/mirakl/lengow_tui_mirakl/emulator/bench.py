"""How fast the emulator serves OR11: ``python -m lengow_tui_mirakl.emulator.bench [--orders N]``.

Starts the emulator as its own process, reads every page of 100 once (cold: orders are built and
serialized on first read), then again (warm: cached JSON), and prints orders per second for each.
The client only reads the bytes, so the figure is the emulator's, not a JSON parser's.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import httpx


def read_all(client: httpx.Client, base: str, key: str, total: int) -> float:
    started = time.perf_counter()
    offset = 0
    while offset < total:
        response = client.get(f"{base}/api/orders", params={"max": 100, "offset": offset},
                              headers={"Authorization": key})
        response.raise_for_status()
        offset += 100
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2, help="warm rounds")
    args = parser.parse_args()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "lengow_tui_mirakl.emulator", "--port", "0", "--orders",
                             str(args.orders), "--api-key", "bench"], stdout=subprocess.PIPE, text=True)
    try:
        base = proc.stdout.readline().strip()  # type: ignore[union-attr]
        print(f"emulator with {args.orders} orders up in {time.perf_counter() - started:.2f} s at {base}")
        with httpx.Client(timeout=120) as client:
            cold = read_all(client, base, "bench", args.orders)
            print(f"cold pass (build + serialize): {args.orders / cold:,.0f} orders/s ({cold:.2f} s)")
            for _ in range(args.rounds):
                warm = read_all(client, base, "bench", args.orders)
                print(f"warm pass (cached JSON):      {args.orders / warm:,.0f} orders/s ({warm:.2f} s)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
