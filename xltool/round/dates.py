"""When a version was saved or arrived, and whether that time may order versions.

PRODUCT.md, "Which return of an agency counts": a time that is missing, later than the moment it
is judged from (collection, or now), or before 1 January of the statistics year sorts last. One
reading of times and one judgement of them, for the collect manifest and for loose files alike.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

CST = timezone(timedelta(hours=8))  # China Standard Time: the dates people in the round read
SKEW = timedelta(hours=1)  # clocks of mail servers, clerks' computers and the coordinator's differ a little


def today() -> date:
    """Today where the round is run: China Standard Time, whatever the machine's zone."""
    return datetime.now(CST).date()


def cn_date(value: date) -> str:
    """A date as letters and reports write it: 2023年1月5日."""
    return f"{value.year}年{value.month}月{value.day}日"


def minute(text: str) -> str:
    """An ISO time as a person reads it, to the minute: 2023-01-05 09:30."""
    return text[:16].replace("T", " ")


def parse_time(value: Any) -> datetime | None:
    """A time as an aware datetime (UTC when it names no zone), from a datetime or W3CDTF / ISO
    text (docProps/core.xml, the manifest: `2022-01-10T08:30:00Z`); None when it is not one."""
    if isinstance(value, str):
        text = value.strip()[:40]
        if text[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat does not read the Z
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def doubt(when: datetime, year: int | None, latest: datetime | None, latest_name: str = "当前时间") -> str | None:
    """Why `when` cannot order versions, as a phrase to follow the time ("晚于当前时间"); None when
    it is plausible. `latest` is the moment of judging (a little clock skew is allowed)."""
    if latest is not None:
        try:
            limit = latest + SKEW
        except OverflowError:
            limit = latest
        if when > limit:
            return f"晚于{latest_name}"
    if year is not None and 1 <= year <= 9999 and when < datetime(year, 1, 1, tzinfo=CST):
        return f"早于统计年度的开始（{year}年1月1日）"
    return None
