"""Snooze and quiet hours: whether notifications are held back now, and until when.

The policy (:mod:`holmtray.core.alerts.policy`) asks :meth:`Pause.holding_back` for every
event; the tray shows :meth:`Pause.status` ("Paused until 12:46", "Quiet until 07:00"). Quiet
hours come from the settings, read on every call so a change applies at once; a snooze is set
from the tray menu and ends at its time or when resumed. Times are compared on the local wall
clock of ``tz`` (``None``: the system's zone, DST rules included).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo

from holmtray.core.config.checks import parse_clock_time, weekday_index
from holmtray.core.config.settings import Settings

MORNING = time(8, 0)  # "until tomorrow morning" means this local time


class Pause:
    """A snooze and the quiet hours of the current settings."""

    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        clock: Callable[[], datetime],
        tz: tzinfo | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._tz = tz
        self._snoozed = False
        self._snooze_until: datetime | None = None

    def snooze(self, until: datetime | None) -> None:
        """Hold back notifications until ``until`` (aware), or until resumed when ``None``."""
        if until is not None and until.tzinfo is None:
            raise ValueError("snooze needs an aware datetime (with a time zone)")
        self._snoozed = True
        self._snooze_until = until

    def snooze_for(self, minutes: float) -> None:
        if minutes <= 0:
            raise ValueError(f"snooze for {minutes!r} minutes: expected more than 0")
        self.snooze(self._clock() + timedelta(minutes=minutes))

    def snooze_until_tomorrow(self) -> None:
        """Snooze until 08:00 local time tomorrow."""
        today = self.local(self._clock()).date()
        self.snooze(self.at_local(today + timedelta(days=1), MORNING))

    def resume(self) -> None:
        """End a snooze."""
        self._snoozed = False
        self._snooze_until = None

    def status(self) -> str | None:
        """Why notifications are held back now, for the tray menu and tooltip; ``None`` if not.

        ``"Paused until 12:46"``, ``"Paused until tomorrow 08:00"``, ``"Paused until Thu
        08:00"``, ``"Paused until 9 May 12:00"``, ``"Paused until resumed"``, ``"Quiet until
        07:00"``, ``"Notifications off"``.
        """
        now = self._clock()
        if not self._settings().flag("notifications.enabled"):
            return "Notifications off"
        if self.snoozed_at(now):
            until = self._snooze_until
            if until is None:
                return "Paused until resumed"
            return f"Paused until {self._when(until, now)}"
        end = self.quiet_until(now)
        if end is not None:
            return f"Quiet until {end:%H:%M}"
        return None

    def _when(self, at: datetime, now: datetime) -> str:
        """A local time in as few words as read well from ``now``: "12:46", "tomorrow 08:00"."""
        local, today = self.local(at), self.local(now).date()
        days = (local.date() - today).days
        if days <= 0:
            return f"{local:%H:%M}"
        if days == 1:
            return f"tomorrow {local:%H:%M}"
        if days < 7:
            return f"{local:%a %H:%M}"
        return f"{local.day} {local:%b %H:%M}"

    def holding_back(self, now: datetime) -> bool:
        return self.snoozed_at(now) or self.quiet_until(now) is not None

    def snoozed_at(self, now: datetime) -> bool:
        if not self._snoozed:
            return False
        if self._snooze_until is None or now < self._snooze_until:
            return True
        self.resume()
        return False

    def quiet_until(self, now: datetime) -> time | None:
        """The local end of the quiet span ``now`` falls in, or ``None`` outside quiet hours.

        Times are compared on the local wall clock, so a span keeps its written start and end
        across a DST change (and is an hour shorter or longer that night). A span belongs to the
        weekday it starts on.
        """
        s = self._settings()
        if not s.flag("notifications.quiet_enabled"):
            return None
        start = parse_clock_time(s.text("notifications.quiet_start"))
        end = parse_clock_time(s.text("notifications.quiet_end"))
        days = {weekday_index(d) for d in s.strings("notifications.quiet_days")}
        local = self.local(now)
        at = local.time()
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        if start < end:
            return end if today in days and start <= at < end else None
        # start >= end: the span crosses midnight (equal: a whole day from start to start)
        if (today in days and at >= start) or (yesterday in days and at < end):
            return end
        return None

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self._tz)  # None: the system's local zone

    def at_local(self, day: date, at: time) -> datetime:
        if self._tz is not None:
            return datetime.combine(day, at, tzinfo=self._tz)
        return datetime.combine(day, at).astimezone()
