"""`valkit schema`: print the protocol JSON Schema (for editor autocompletion), or with
``--results`` the JSON Schema of results.json (committed as docs/results.schema.json)."""
from __future__ import annotations

import argparse
import json

from valkit.commands import add_quiet


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("schema", help="print the JSON Schema of the protocol format (or of results.json)")
    p.add_argument("--results", action="store_true",
                   help="print the JSON Schema of results.json instead (the typed results contract)")
    add_quiet(p)  # no long steps: accepted so that one flag works with every command
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.results:
        from valkit.results_schema import results_json_schema

        schema = results_json_schema()
    else:
        from valkit.protocol import protocol_json_schema

        schema = protocol_json_schema()
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0
