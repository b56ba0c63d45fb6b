"""`valkit validate PROTOCOL`: check everything a run needs before it starts, report every problem at once.

The protocol's format, the files it names, the model card (with its weights' sha256), the
manifest columns the protocol names and the external scores file's header; see
:mod:`valkit.preflight`. Nothing is run: no torch, no images, no inference.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from valkit.commands import add_quiet


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate", help="check a protocol and everything its run needs (model card, manifest columns, "
                         "scores file header); report every problem at once")
    p.add_argument("protocol", help="path to a protocol YAML file")
    p.add_argument(
        "--no-paths", action="store_true",
        help="check the protocol's format only, not the files it names (card, manifests, scores)"
    )
    add_quiet(p)  # no long steps: accepted so that one flag works with every command
    p.set_defaults(func=run)


def _card_path(protocol: Path) -> Path | None:
    """The protocol's ``model.card``, read leniently, so that the card is checked even when the protocol has problems."""
    from valkit.yaml_lines import YamlInputError, read_yaml

    try:
        data = read_yaml(protocol.read_text(encoding="utf-8"))
    except (OSError, YamlInputError):
        return None
    model = data.get("model") if isinstance(data, dict) else None
    card = model.get("card") if isinstance(model, dict) else None
    if not isinstance(card, str):
        return None
    return Path(card) if Path(card).is_absolute() else protocol.parent / card


def run(args: argparse.Namespace) -> int:
    from valkit.errors import InputError
    from valkit.preflight import preflight
    from valkit.protocol import load_protocol

    try:
        loaded = load_protocol(args.protocol, check_paths=False)
    except InputError as exc:
        # the protocol has problems: list them with those of its model card, which is checked anyway
        problems = exc.problems or [str(exc)]
        card = None if args.no_paths else _card_path(Path(args.protocol))
        if card is not None and card.exists():
            from valkit.preflight import card_problems

            problems = problems + card_problems(card)[0]
        raise InputError(f"{args.protocol}: {len(problems)} problem(s) in the protocol and its model card:",
                         problems=problems) from None
    p = loaded.protocol
    head = f"{args.protocol}: valid protocol '{p.id}' version {p.version} (sha256 {loaded.sha256[:12]}…)"
    if args.no_paths:
        from valkit.preflight import regulatory_findings
        from valkit.yaml_lines import line_index

        warnings, notes = regulatory_findings(loaded, line_index(loaded.path.read_text(encoding="utf-8")),
                                              str(args.protocol))
        for line in warnings:
            print(f"warning: {line}", file=sys.stderr)
        for line in notes:
            print(f"note: {line}", file=sys.stderr)
        print(head)
        return 0
    result = preflight(loaded, source=str(args.protocol))
    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in result.notes:
        print(f"note: {line}", file=sys.stderr)
    if result.problems:
        raise InputError(f"{args.protocol}: {len(result.problems)} problem(s) found before the run "
                         "(nothing was run):", problems=list(result.problems))
    print(head)
    for line in result.checked:
        print(f"  {line}")
    print("  ready to run (nothing was run: no inference, no images read)")
    return 0
