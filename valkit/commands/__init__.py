"""One module per `valkit` subcommand; each exposes ``register(subparsers)``."""
