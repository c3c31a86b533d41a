"""cli: the `toolkit` command, a thin layer over toolkit.pipeline. Only this stage prints."""

from toolkit.cli import check, demo, merge, report, serve, template  # noqa: F401 - each module adds its command to `main`
from toolkit.cli.app import main

__all__ = ["main"]
