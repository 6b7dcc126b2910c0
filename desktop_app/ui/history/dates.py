"""Date headings of the conversation list: Today, Yesterday, the previous week, and so on.

Pure Python, so the grouping can be checked against any "now". Days are calendar
days in the local time zone (or in ``now``'s zone when it carries one), so a
conversation from 23:59 is "Yesterday" one minute after midnight, and a change to
or from summer time moves nothing across a boundary.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta


class DateGroup(enum.Enum):
    """A heading of the conversation list, in the order the list shows them."""

    TODAY = "Today"
    YESTERDAY = "Yesterday"
    PREVIOUS_7_DAYS = "Previous 7 days"
    PREVIOUS_30_DAYS = "Previous 30 days"
    OLDER = "Older"

    @property
    def label(self) -> str:
        """The heading's text."""
        return self.value


GROUP_ORDER = tuple(DateGroup)


def local_now() -> datetime:
    """Now, as a naive local date and time (the clock the list uses by default)."""
    return datetime.now()


def local_time(timestamp: float, now: datetime) -> datetime:
    """``timestamp`` (seconds since the epoch) in the same zone as ``now``."""
    if now.tzinfo is None:
        return datetime.fromtimestamp(timestamp)
    return datetime.fromtimestamp(timestamp, tz=now.tzinfo)


def days_ago(timestamp: float, now: datetime) -> int:
    """Calendar days from ``timestamp`` to ``now`` (0: the same day; negative: later)."""
    return (now.date() - local_time(timestamp, now).date()).days


def date_group(timestamp: float, now: datetime) -> DateGroup:
    """The heading a conversation last changed at ``timestamp`` goes under.

    Args:
        timestamp: When it last changed, in seconds since the epoch.
        now: The present moment; naive means local time.

    Returns:
        Today (also for a time in the future: a clock set back), Yesterday,
        Previous 7 days (2 to 7 days ago), Previous 30 days (8 to 30) or Older.
    """
    days = days_ago(timestamp, now)
    if days <= 0:
        return DateGroup.TODAY
    if days == 1:
        return DateGroup.YESTERDAY
    if days <= 7:
        return DateGroup.PREVIOUS_7_DAYS
    if days <= 30:
        return DateGroup.PREVIOUS_30_DAYS
    return DateGroup.OLDER


def seconds_to_midnight(now: datetime) -> float:
    """Seconds from ``now`` to the next local midnight, when the groups shift."""
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    return max(0.0, (tomorrow - now).total_seconds())
