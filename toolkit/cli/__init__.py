"""cli: the `toolkit` command, a thin layer over toolkit.pipeline. Only this stage prints.

Each command's module is imported when the command is asked for (app.COMMAND_MODULES), so a command
loads only what it uses.
"""

from toolkit.cli.app import main

__all__ = ["main"]
