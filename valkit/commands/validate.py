"""`valkit validate PROTOCOL`: report every problem in a protocol at once."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help="check a protocol file and report every problem at once")
    p.add_argument("protocol", help="path to a protocol YAML file")
    p.add_argument(
        "--no-paths", action="store_true", help="check the format only, not that referenced files exist"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.protocol import load_protocol

    loaded = load_protocol(args.protocol, check_paths=not args.no_paths)
    p = loaded.protocol
    print(f"{args.protocol}: valid protocol '{p.id}' version {p.version} (sha256 {loaded.sha256[:12]}…)")
    return 0
