"""iCalendar (.ics) output: open follow-ups, touches due and expected close dates of open deals.

Everything is a VEVENT (calendar apps show events; many ignore VTODO). Each event's UID is derived from
its record (`followup-<interaction id>@crm`, `deal-<id>-close@crm`, `touch-<contact id>@crm`), so
importing a newer file updates the events instead of duplicating them. DTSTAMP is the command's `now`.
A follow-up due at local midnight (`--follow-up tomorrow`) is an all-day event; one with a time is a
30-minute event at that time (UTC). Close dates and touches are all-day events.

Interface used by the export commands (`crm log export --format ics`, `crm deal export --format ics`):
`followups_ics(conn, *, now, since=None, until=None)` and `deal_closes_ics(conn, *, now, deal_ids=None)`,
each returning the calendar as bytes.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

from crm_cli.dates import local_day_start, local_now
from crm_cli.db import utc_iso

PRODID = "-//crm//crm agenda//EN"
TIMED_MINUTES = 30


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def _bound(value: datetime | date | None) -> str | None:
    """A since/until bound as stored UTC text; a date means that local day's midnight."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = local_day_start(value)
    return utc_iso(value)


def _calendar(name: str, events: list) -> bytes:
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(event)
    return cal.to_ical()


def _event(uid: str, now: datetime, summary: str, description: str, *, day: date | None = None, at=None):
    from icalendar import Event

    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if day is not None:
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    else:
        event.add("dtstart", at)
        event.add("dtend", at + timedelta(minutes=TIMED_MINUTES))
    return event


def followup_events(
    conn: sqlite3.Connection, *, now: datetime, since: datetime | date | None = None, until=None
) -> list:
    """One event per open follow-up (not done), due in [since, until) when given."""
    clauses, params = ["i.follow_up_at IS NOT NULL", "i.follow_up_done_at IS NULL"], []
    if since is not None:
        clauses.append("i.follow_up_at >= ?")
        params.append(_bound(since))
    if until is not None:
        clauses.append("i.follow_up_at < ?")
        params.append(_bound(until))
    rows = conn.execute(
        f"""SELECT i.id, i.kind, i.summary, i.happened_at, i.follow_up_at, i.contact_id, c.name AS contact
            FROM interactions i JOIN contacts c ON c.id = i.contact_id
            WHERE {" AND ".join(clauses)} ORDER BY i.follow_up_at, i.id""",
        params,
    ).fetchall()
    events = []
    for r in rows:
        due = _instant(r["follow_up_at"])
        local = local_now(due)
        whole_day = (local.hour, local.minute, local.second) == (0, 0, 0)
        title = f"Follow up: {r['contact']}" + (f" — {r['summary']}" if r["summary"] else "")
        description = (
            f"Follow-up of the {r['kind']} of {local_now(_instant(r['happened_at'])).strftime('%Y-%m-%d %H:%M')}"
            f" with {r['contact']}" + (f": {r['summary']}" if r["summary"] else "") + f"\n"
            f"Done? crm log done {r['id']}"
        )
        events.append(
            _event(
                f"followup-{r['id']}@crm",
                now,
                title,
                description,
                day=local.date() if whole_day else None,
                at=None if whole_day else due,
            )
        )
    return events


def deal_close_events(conn: sqlite3.Connection, *, now: datetime, deal_ids: list[int] | None = None) -> list:
    """One all-day event per open deal with an expected close date."""
    import json

    from crm_cli.money import format_money

    clause, params = "", []
    if deal_ids is not None:
        clause = "AND d.id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps([int(i) for i in deal_ids]))
    rows = conn.execute(
        f"""SELECT d.id, d.title, d.value, d.currency, d.stage, d.probability, d.expected_close,
                   c.name AS contact
            FROM deals d
            JOIN stages s ON s.name = d.stage AND s.kind = 'open'
            JOIN contacts c ON c.id = d.contact_id
            WHERE d.expected_close IS NOT NULL {clause}
            ORDER BY d.expected_close, d.id""",
        params,
    ).fetchall()
    events = []
    for r in rows:
        try:
            day = date.fromisoformat(r["expected_close"])
        except ValueError:
            continue  # an unreadable close date cannot be placed on a calendar
        description = f"{r['title']} with {r['contact']}: {format_money(r['value'], r['currency'])}, stage {r['stage']}"
        events.append(
            _event(
                f"deal-{r['id']}-close@crm", now, f"Deal closes: {r['title']} ({r['contact']})", description, day=day
            )
        )
    return events


def touch_events(conn: sqlite3.Connection, *, now: datetime, until: datetime | None = None) -> list:
    """One all-day event per contact with a cadence, on the day the next touch is due."""
    from crm_cli import agenda

    events = []
    for r in agenda.touches(conn, now=now, until=until):
        day = local_now(_instant(r["due_at"])).date()
        last = (
            f"Last {r['last_interaction_kind']}: {r['last_interaction']}"
            if r["last_interaction_at"]
            else "Never contacted yet."
        )
        events.append(
            _event(
                f"touch-{r['contact_id']}@crm",
                now,
                f"Stay in touch: {r['contact']}",
                f"Every {r['every_days']} days. {last}",
                day=day,
            )
        )
    return events


def followups_ics(conn: sqlite3.Connection, *, now: datetime, since=None, until=None) -> bytes:
    """Open follow-ups as an iCalendar file (bytes)."""
    return _calendar("crm follow-ups", followup_events(conn, now=now, since=since, until=until))


def deal_closes_ics(conn: sqlite3.Connection, *, now: datetime, deal_ids: list[int] | None = None) -> bytes:
    """Expected close dates of open deals as an iCalendar file (bytes)."""
    return _calendar("crm deal closes", deal_close_events(conn, now=now, deal_ids=deal_ids))


def agenda_ics(conn: sqlite3.Connection, *, now: datetime, days: int = 7) -> bytes:
    """`crm agenda --ics`: every open follow-up, every open deal's close date, and the touches due
    within `days` days (overdue ones included, on the day they fell due)."""
    from crm_cli.agenda import end_of_today

    until = end_of_today(now) + timedelta(days=days)
    events = (
        followup_events(conn, now=now) + touch_events(conn, now=now, until=until) + deal_close_events(conn, now=now)
    )
    return _calendar("crm agenda", events)
