"""Failures of the system or of the command line (exit 2), kept apart from problems in a return."""


class UserError(Exception):
    """A command that cannot run: bad arguments, unreadable or unwritable files. One Chinese line."""
