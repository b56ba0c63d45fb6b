"""`valkit validate PROTOCOL`: report every problem in a protocol (and its model card) at once."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help="check a protocol file (and its model card) and report every problem")
    p.add_argument("protocol", help="path to a protocol YAML file")
    p.add_argument(
        "--no-paths", action="store_true",
        help="check the format only, not that referenced files exist (the model card is then not checked)"
    )
    p.set_defaults(func=run)


def _card_path(protocol: Path) -> Path | None:
    """The protocol's model.card, read leniently so that the card is checked even when the protocol has problems."""
    import yaml

    try:
        data = yaml.safe_load(protocol.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    card = (data.get("model") or {}).get("card") if isinstance(data, dict) and isinstance(data.get("model"), dict) \
        else None
    if not isinstance(card, str):
        return None
    return Path(card) if Path(card).is_absolute() else protocol.parent / card


def run(args: argparse.Namespace) -> int:
    from valkit.errors import InputError
    from valkit.model_card_problems import check_model_card
    from valkit.protocol import load_protocol

    protocol = Path(args.protocol)
    problems: list[str] = []
    loaded = None
    try:
        loaded = load_protocol(protocol, check_paths=not args.no_paths)
    except InputError as exc:
        problems.extend(exc.problems or [str(exc)])
    card = None
    card_path = None if args.no_paths else _card_path(protocol)
    if card_path is not None and card_path.exists():  # a missing card is already a protocol problem
        card, card_problems = check_model_card(card_path)
        problems.extend(card_problems)
    if problems:
        raise InputError(f"{protocol}: {len(problems)} problem(s) in the protocol and its model card:",
                         problems=problems)
    assert loaded is not None
    p = loaded.protocol
    print(f"{protocol}: valid protocol '{p.id}' version {p.version} (sha256 {loaded.sha256[:12]}…)")
    if card is not None:
        print(f"{card.path}: valid model card '{card.id}' version {card.version}, format {card.architecture.format}, "
              f"weights sha256 verified")
    return 0
