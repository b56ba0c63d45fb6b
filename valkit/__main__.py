from valkit.cli import entry

entry()
