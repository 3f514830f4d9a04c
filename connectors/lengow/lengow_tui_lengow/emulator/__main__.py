"""``python -m lengow_tui_lengow.emulator``: run the emulator as its own process.

The first stdout line is the base URL (flushed), so a parent process can read it and go on.
"""

from __future__ import annotations

import argparse
import sys
import threading

from lengow_tui_lengow.emulator.catalog import MARKETPLACES
from lengow_tui_lengow.emulator.faults import FaultTable
from lengow_tui.emulation.server import bind
from lengow_tui_lengow.emulator.runner import make_options, make_server
from lengow_tui_lengow.emulator.state import EmulatorState


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lengow_tui_lengow.emulator",
                                     description="Loopback emulator of the Lengow API v3 (orders, actions, marketplaces).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--orders", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--access-token", default="emulator-access-token")
    parser.add_argument("--secret", default="emulator-secret")
    parser.add_argument("--account-id", type=int, default=4242)
    parser.add_argument("--marketplaces", default=",".join(MARKETPLACES),
                        help="comma-separated codes among " + ", ".join(MARKETPLACES))
    parser.add_argument("--action-delay", type=float, default=1.0, help="seconds per action step (queued, sent)")
    parser.add_argument("--token-lifetime", type=float, default=3600.0)
    parser.add_argument("--rate-limit", type=int, default=500, help="calls per minute per route (0 = off)")
    args = parser.parse_args(argv)
    state = EmulatorState(make_options(
        orders=args.orders, seed=args.seed, access_token=args.access_token, secret=args.secret,
        account_id=args.account_id, marketplaces=[m for m in args.marketplaces.split(",") if m],
        action_delay_seconds=args.action_delay, token_lifetime_seconds=args.token_lifetime,
        rate_limit_per_minute=args.rate_limit,
    ))
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"http://{host}:{port}", flush=True)
    server = make_server(state, FaultTable(), threading.Event())
    server.run(sockets=[sock])  # uvicorn handles SIGINT / SIGTERM in the main thread
    return 0


if __name__ == "__main__":
    sys.exit(main())
