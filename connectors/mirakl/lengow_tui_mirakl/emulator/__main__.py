"""``python -m lengow_tui_mirakl.emulator``: run the emulator as its own process.

The first stdout line is the base URL (flushed), so a parent process can read it and go on.
"""

from __future__ import annotations

import argparse
import sys
import threading

from lengow_tui_mirakl.declarations import OPERATOR_CODES
from lengow_tui_mirakl.emulator.faults import FaultTable
from lengow_tui.emulation.server import bind
from lengow_tui_mirakl.emulator.runner import make_options, make_server
from lengow_tui_mirakl.emulator.state import EmulatorState


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lengow_tui_mirakl.emulator",
                                     description="Loopback emulator of the Mirakl seller API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--api-key", default="emulator-api-key")
    parser.add_argument("--shop-id", default="2001")
    parser.add_argument("--operator", default="mirakl", choices=OPERATOR_CODES)
    parser.add_argument("--debit-delay", type=float, default=0.0, help="seconds from acceptance to SHIPPING")
    parser.add_argument("--refund-delay", type=float, default=60.0, help="seconds from WAITING_REFUND to REFUNDED")
    parser.add_argument("--rate-limit", type=int, default=0, help="/api calls per minute (0 = unlimited)")
    args = parser.parse_args(argv)
    state = EmulatorState(make_options(
        orders=args.orders, seed=args.seed, api_key=args.api_key, shop_id=args.shop_id, operator=args.operator,
        debit_delay_seconds=args.debit_delay, refund_delay_seconds=args.refund_delay,
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
