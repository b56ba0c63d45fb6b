"""`valkit schema`: print the protocol JSON Schema (for editor autocompletion)."""
from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("schema", help="print the JSON Schema of the protocol format")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.protocol import protocol_json_schema

    print(json.dumps(protocol_json_schema(), indent=2))
    return 0
