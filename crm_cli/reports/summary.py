"""The dashboard (`crm`, `crm report summary`): what needs doing today and how the business is going.

Figures (local calendar, money in the default currency unless said otherwise):
- follow-ups due today (open, due on the local today) and overdue (open, due before today);
- open pipeline: deals in stages of kind 'open', per currency (count, value, weighted by probability);
- revenue this month so far vs last month (whole) and last month to the same day; change compares
  this month so far with last month to the same day;
- new customers this month (persons whose first purchase is this month);
- dormant customers (dormant.py, 180 days) and open support requests;
- revenue per month for the last 12 months (the sparkline).
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta

from crm_cli import settings
from crm_cli.dates import local_day_start
from crm_cli.db import utc_iso
from crm_cli.money import to_decimal
from crm_cli.reports import buckets, dormant

DORMANT_DAYS = 180


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _revenue(conn: sqlite3.Connection, currency: str, start: date, end: date) -> int:
    """Purchases in [start, end) local days, default currency, thousandths."""
    return conn.execute(
        """SELECT coalesce(sum(amount), 0) FROM interactions
           WHERE happened_at >= ? AND happened_at < ? AND kind = 'purchase' AND currency = ?""",
        (utc_iso(local_day_start(start)), utc_iso(local_day_start(end)), currency),
    ).fetchone()[0]


def _monthly_revenue(conn: sqlite3.Connection, currency: str, months: list[date], end: date) -> list[dict]:
    """Revenue per local month (thousandths) in ONE pass over the covering purchase index; the
    unary + keeps SQLite from walking the time index and looking up each purchase's row."""
    bounds = [utc_iso(local_day_start(m)) for m in months] + [utc_iso(local_day_start(end))]
    sums = ", ".join("coalesce(sum(CASE WHEN happened_at >= ? AND happened_at < ? THEN amount END), 0)" for _ in months)
    params = [b for pair in zip(bounds, bounds[1:], strict=False) for b in pair]
    row = conn.execute(
        f"""SELECT {sums} FROM interactions
            WHERE kind = 'purchase' AND currency = ? AND +happened_at >= ? AND +happened_at < ?""",
        [*params, currency, bounds[0], bounds[-1]],
    ).fetchone()
    return [{"period": f"{m.year}-{m.month:02d}", "revenue": total} for m, total in zip(months, row, strict=True)]


def pipeline(conn: sqlite3.Connection) -> list[dict]:
    from crm_cli.deals import weighted

    rows = conn.execute(
        """SELECT d.currency, count(*), sum(d.value), sum(d.value * coalesce(d.probability, s.probability))
           FROM deals d JOIN stages s ON s.name = d.stage
           WHERE s.kind = 'open' GROUP BY d.currency ORDER BY sum(d.value) DESC"""
    ).fetchall()
    return [
        {
            "currency": r[0],
            "deals": r[1],
            "value": to_decimal(r[2]),
            "weighted_value": weighted(r[3]),
        }
        for r in rows
    ]


def summary(conn: sqlite3.Connection, *, now: datetime) -> dict:
    currency = settings.default_currency(conn)
    days = buckets.LocalDays(now)
    today = days.day(utc_iso(now))
    tomorrow = today + timedelta(days=1)
    today_start, tomorrow_start = utc_iso(local_day_start(today)), utc_iso(local_day_start(tomorrow))

    overdue, due_today = conn.execute(
        """SELECT coalesce(sum(follow_up_at < ?), 0), coalesce(sum(follow_up_at >= ?), 0) FROM interactions
           WHERE follow_up_at IS NOT NULL AND follow_up_done_at IS NULL AND follow_up_at < ?""",
        (today_start, today_start, tomorrow_start),
    ).fetchone()

    this_month = _month_start(today)
    last_month = _month_start(today, 1)
    same_day_last_month = min(last_month + timedelta(days=today.day), this_month)
    months = [_month_start(today, back) for back in range(11, -1, -1)]
    trend = _monthly_revenue(conn, currency, months, tomorrow)
    revenue_now, revenue_last = trend[-1]["revenue"], trend[-2]["revenue"]
    revenue_last_to_date = _revenue(conn, currency, last_month, same_day_last_month)

    month_start = utc_iso(local_day_start(this_month))
    new_customers = conn.execute(
        """SELECT count(DISTINCT i.contact_id) FROM interactions i
           WHERE i.kind = 'purchase' AND i.happened_at >= ? AND i.happened_at < ?
             AND i.contact_id NOT IN (SELECT id FROM contacts WHERE kind <> 'person')
             AND NOT EXISTS (SELECT 1 FROM interactions j
                             WHERE j.contact_id = i.contact_id AND j.kind = 'purchase' AND j.happened_at < ?)""",
        (month_start, tomorrow_start, month_start),
    ).fetchone()[0]
    open_support = conn.execute(
        "SELECT count(*) FROM interactions WHERE kind = 'support' AND status = 'open'"
    ).fetchone()[0]

    return {
        "as_of": utc_iso(now),
        "today": today.isoformat(),
        "currency": currency,
        "follow_ups_due_today": due_today,
        "follow_ups_overdue": overdue,
        "open_pipeline": pipeline(conn),
        "month": f"{this_month.year}-{this_month.month:02d}",
        "revenue_this_month": to_decimal(revenue_now),
        "revenue_last_month": to_decimal(revenue_last),
        "revenue_last_month_to_date": to_decimal(revenue_last_to_date),
        "revenue_change": buckets.rate(revenue_now - revenue_last_to_date, revenue_last_to_date),
        "new_customers_this_month": new_customers,
        "dormant_customers": dormant.count(conn, now=now, days=DORMANT_DAYS),
        "dormant_days": DORMANT_DAYS,
        "open_support_requests": open_support,
        "revenue_by_month": [{"period": m["period"], "revenue": to_decimal(m["revenue"])} for m in trend],
    }
