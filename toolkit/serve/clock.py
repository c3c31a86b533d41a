"""Times as the service stores them (ISO 8601, UTC, sortable as text) and shows them (Beijing time)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def shown(stamp: str | None) -> str:
    """`2025-01-20 14:03`, Beijing time; blank for none."""
    if not stamp:
        return ""
    return datetime.fromisoformat(stamp).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def deadline_passed(deadline: str | None, stamp: str | None = None) -> bool:
    """Whether `stamp` (default: now) is after the deadline day's end in Beijing."""
    if not deadline:
        return False
    end = datetime.combine(date.fromisoformat(deadline) + timedelta(days=1), datetime.min.time(), BEIJING)
    at = datetime.fromisoformat(stamp) if stamp else datetime.now(timezone.utc)
    return at >= end


def ago(minutes: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes)).isoformat(timespec="microseconds")
