"""One agency of an office's list: its name and whom to call when its return is missing or wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Agency:
    """One agency of the office's list, with whom to call when its return is missing or wrong."""

    name: str
    contact: str = ""
    phone: str = ""
