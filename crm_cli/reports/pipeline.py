"""Pipeline reports: pipeline, forecast, sales, stale deals and stage conversion.

Each function returns rows (list of dicts) or a document; rendering is output.py's job. Money is summed in
SQL as integer thousandths and returned as Decimal; nothing is ever summed across currencies (one row per
currency). Aggregates run in SQL (the pipeline and forecast scan open deals through the deals(stage, value)
index, stage by stage), never as Python loops over every deal.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta

from crm_cli import deals
from crm_cli.db import utc_iso
from crm_cli.errors import InvalidInput
from crm_cli.money import to_decimal

FORECAST_PERIODS = ("month", "quarter")


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _currencies(found: set[str], conn: sqlite3.Connection) -> list[str]:
    """The currencies to show rows for: those found, else those of any deal, else the default one."""
    from crm_cli import settings

    if found:
        return sorted(found)
    known = [r[0] for r in conn.execute("SELECT DISTINCT currency FROM deals ORDER BY currency")]
    return known or [settings.default_currency(conn)]


# ---------------------------------------------------------------------------------------------
# Pipeline


def pipeline(conn: sqlite3.Connection, now: datetime) -> list[dict]:
    """One row per open stage (in order) and currency, then a `"stage": "total"` row per currency.

    Rows: stage, position, probability (the stage's default), currency, deals, total_value,
    weighted_value (sum of value x each deal's probability), avg_age_days (days since entering the stage).
    """
    open_stages = [s for s in deals.stages(conn) if s.kind == "open"]
    found = conn.execute(
        """SELECT d.stage, d.currency, count(*) AS deals, sum(d.value) AS total,
                  sum(d.value * coalesce(d.probability, s.probability)) AS weighted,
                  sum(julianday(?) - julianday(d.stage_changed_at)) AS age_sum
           FROM stages s JOIN deals d ON d.stage = s.name
           WHERE s.kind = 'open'
           GROUP BY d.stage, d.currency""",
        (utc_iso(now),),
    ).fetchall()
    cells = {(r["stage"], r["currency"]): r for r in found}
    rows = []
    for currency in _currencies({r["currency"] for r in found}, conn):
        count = total = weight = 0
        age = 0.0
        for stage in open_stages:
            r = cells.get((stage.name, currency))
            n = r["deals"] if r else 0
            rows.append(
                {
                    "stage": stage.name,
                    "position": stage.position,
                    "probability": stage.probability,
                    "currency": currency,
                    "deals": n,
                    "total_value": to_decimal(r["total"] if r else 0),
                    "weighted_value": deals.weighted(r["weighted"] if r else 0),
                    "avg_age_days": _days(r["age_sum"] / n) if n else None,
                }
            )
            if r:
                count, total, weight, age = count + n, total + r["total"], weight + r["weighted"], age + r["age_sum"]
        rows.append(
            {
                "stage": "total",
                "position": None,
                "probability": None,
                "currency": currency,
                "deals": count,
                "total_value": to_decimal(total),
                "weighted_value": deals.weighted(weight),
                "avg_age_days": _days(age / count) if count else None,
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Forecast


def _bucket_sql(period: str) -> str:
    if period == "month":
        return "substr(d.expected_close, 1, 7)"
    return "substr(d.expected_close, 1, 4) || '-Q' || ((CAST(substr(d.expected_close, 6, 2) AS INTEGER) + 2) / 3)"


def forecast(
    conn: sqlite3.Connection, now: datetime, *, period: str = "month", months: int = 6, overdue_limit: int = 20
) -> dict:
    """Open deals by expected close period: expected (total) and weighted value per period and currency.

    Periods run from the current one until `months` months from now are covered. Deals whose close date
    has passed are shown apart: `overdue` sums them per currency (same row shape), `overdue_deals` lists
    the `overdue_limit` oldest (0: all) and `overdue_count` says how many there are. Deals closing after
    the last period are summed in a `later` row and undated ones in a `no date` row (only when any)."""
    from crm_cli import periods
    from crm_cli.dates import local_now

    if period not in FORECAST_PERIODS:
        raise InvalidInput(f"invalid --period {period!r}; choose one of: {', '.join(FORECAST_PERIODS)}")
    if overdue_limit < 0:
        raise InvalidInput(f"invalid --overdue {overdue_limit}; use 0 (all) or a positive number")
    if not 1 <= months <= 120:
        raise InvalidInput(f"invalid --months {months}; use 1 to 120")
    today = local_now(now).date()
    horizon = today.replace(day=1)
    for _ in range(months):
        horizon = periods.next_start(horizon, "month")
    labels, starts, day = [], {}, periods.start_of(today, period)
    while day < horizon:
        labels.append(periods.label(day, period))
        starts[labels[-1]] = day
        day = periods.next_start(day, period)
    end = day  # exclusive: the first day after the last period shown
    found = conn.execute(
        f"""SELECT CASE WHEN d.expected_close IS NULL THEN 'no date'
                        WHEN d.expected_close < :today THEN 'overdue'
                        WHEN d.expected_close >= :end THEN 'later'
                        ELSE {_bucket_sql(period)} END AS bucket,
                   d.currency, count(*) AS deals, sum(d.value) AS total,
                   sum(d.value * coalesce(d.probability, s.probability)) AS weighted
            FROM stages s JOIN deals d ON d.stage = s.name
            WHERE s.kind = 'open'
            GROUP BY bucket, d.currency""",
        {"today": today.isoformat(), "end": end.isoformat()},
    ).fetchall()
    cells = {(r["bucket"], r["currency"]): r for r in found}

    def row(label: str, currency: str, start: date | None) -> dict:
        r = cells.get((label, currency))
        return {
            "period": label,
            "start": start.isoformat() if start else None,
            "currency": currency,
            "deals": r["deals"] if r else 0,
            "total_value": to_decimal(r["total"] if r else 0),
            "weighted_value": deals.weighted(r["weighted"] if r else 0),
        }

    rows, overdue_totals = [], []
    for currency in _currencies({r["currency"] for r in found}, conn):
        rows += [row(label, currency, starts[label]) for label in labels]
        rows += [row(extra, currency, None) for extra in ("later", "no date") if (extra, currency) in cells]
        if ("overdue", currency) in cells:
            overdue_totals.append(row("overdue", currency, None))
    overdue = [
        {
            "id": r["id"],
            "title": r["title"],
            "contact_id": r["contact_id"],
            "contact": r["contact"],
            "stage": r["stage"],
            "expected_close": r["expected_close"],
            "days_overdue": (today - date.fromisoformat(r["expected_close"])).days,
            "value": to_decimal(r["value"]),
            "currency": r["currency"],
            "probability": r["probability"],
            "weighted_value": deals.weighted(r["value"] * r["probability"]),
            "owner": r["owner"],
        }
        for r in conn.execute(
            """SELECT d.id, d.title, d.contact_id, c.name AS contact, d.stage, d.expected_close, d.value,
                      d.currency, coalesce(d.probability, s.probability) AS probability, d.owner
               FROM stages s JOIN deals d ON d.stage = s.name JOIN contacts c ON c.id = d.contact_id
               WHERE s.kind = 'open' AND d.expected_close < ?
               ORDER BY d.expected_close, d.id
               LIMIT ?""",
            (today.isoformat(), overdue_limit or -1),
        )
    ]
    return {
        "period": period,
        "months": months,
        "from": today.isoformat(),
        "to": (end - timedelta(days=1)).isoformat(),
        "rows": rows,
        "overdue": overdue_totals,
        "overdue_count": sum(r["deals"] for r in overdue_totals),
        "overdue_deals": overdue,
    }


# ---------------------------------------------------------------------------------------------
# Sales


def _rate(won: int, closed: int) -> float | None:
    return round(won / closed, 4) if closed else None


def sales(
    conn: sqlite3.Connection, now: datetime, *, start: datetime | None = None, end: datetime | None = None
) -> dict:
    """Deals closed in [start, end) (by closed_at): won and lost, overall and per currency.

    win_rate = won / (won + lost), a fraction 0-1 (null when nothing closed); avg_cycle_days = mean days
    from a won deal's creation to its win; avg_deal_size = won value / won count, per currency;
    lost_reasons ranked by count (reasons compared case-insensitively)."""
    from crm_cli.periods import Range

    where, params = Range(start, end).sql("d.closed_at")
    found = conn.execute(
        f"""SELECT s.kind, d.currency, count(*) AS n, sum(d.value) AS total,
                   sum(julianday(d.closed_at) - julianday(d.created_at)) AS cycle
            FROM stages s JOIN deals d ON d.stage = s.name
            WHERE s.kind IN ('won', 'lost') AND d.closed_at IS NOT NULL AND {where}
            GROUP BY s.kind, d.currency""",
        params,
    ).fetchall()
    reasons = conn.execute(
        f"""SELECT d.currency, min(d.lost_reason) AS reason, count(*) AS n
            FROM stages s JOIN deals d ON d.stage = s.name
            WHERE s.kind = 'lost' AND d.closed_at IS NOT NULL AND {where}
            GROUP BY d.currency, lower(coalesce(d.lost_reason, ''))""",
        params,
    ).fetchall()
    cells = {(r["kind"], r["currency"]): r for r in found}

    def ranked(items: list[tuple[str, int]]) -> list[dict]:
        merged: dict[str, list] = {}
        for reason, n in items:
            key = (reason or "").lower()
            merged.setdefault(key, [reason or "(none)", 0])[1] += n
        total = sum(n for _, n in merged.values())
        ordered = sorted(merged.values(), key=lambda x: (-x[1], x[0].lower()))
        return [{"reason": reason, "count": n, "share": round(n / total, 4)} for reason, n in ordered]

    by_currency = []
    for currency in sorted({r["currency"] for r in found}):
        w, lo = cells.get(("won", currency)), cells.get(("lost", currency))
        won_n, lost_n = (w["n"] if w else 0), (lo["n"] if lo else 0)
        by_currency.append(
            {
                "currency": currency,
                "won_count": won_n,
                "won_value": to_decimal(w["total"] if w else 0),
                "lost_count": lost_n,
                "lost_value": to_decimal(lo["total"] if lo else 0),
                "win_rate": _rate(won_n, won_n + lost_n),
                "avg_deal_size": deals.exact_average(w["total"], won_n) if w else None,
                "avg_cycle_days": _days(w["cycle"] / won_n) if w else None,
                "lost_reasons": ranked([(r["reason"], r["n"]) for r in reasons if r["currency"] == currency]),
            }
        )
    won_all = sum(r["won_count"] for r in by_currency)
    lost_all = sum(r["lost_count"] for r in by_currency)
    cycle_all = sum(r["cycle"] for r in found if r["kind"] == "won")
    return {
        "from": _local_day(start),
        "to": _local_day(end - timedelta(seconds=1)) if end else None,
        "won_count": won_all,
        "lost_count": lost_all,
        "closed_count": won_all + lost_all,
        "win_rate": _rate(won_all, won_all + lost_all),
        "avg_cycle_days": _days(cycle_all / won_all) if won_all else None,
        "lost_reasons": ranked([(r["reason"], r["n"]) for r in reasons]),
        "by_currency": by_currency,
    }


def _local_day(moment: datetime | None) -> str | None:
    from crm_cli.dates import local_now

    return local_now(moment).date().isoformat() if moment else None


# ---------------------------------------------------------------------------------------------
# Stale deals


def stale(conn: sqlite3.Connection, now: datetime, *, days: int = 14, limit: int | None = None) -> list[dict]:
    """Open deals with no activity (linked interaction, stage change or edit) in `days` days, oldest first."""
    if days < 1:
        raise InvalidInput(f"invalid --days {days}; use a whole number of days, 1 or more")
    if limit is not None and limit < 1:
        raise InvalidInput(f"invalid --limit {limit}; use a positive number")
    cutoff = utc_iso(now - timedelta(days=days))
    rows = []
    for r in conn.execute(
        f"SELECT * FROM ({deals.SELECT} WHERE s.kind = 'open') WHERE last_activity_at < ? "
        "ORDER BY last_activity_at, id LIMIT ?",
        (cutoff, limit or -1),
    ):
        deal = deals.record(r, now)
        last = datetime.fromisoformat(deal["last_activity_at"].replace("Z", "+00:00"))
        deal["days_idle"] = (now - last).days
        rows.append(deal)
    return rows


# An instant in the stored form (db.utc_iso): whole seconds, UTC.
_STORED_INSTANT = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z"


def stale_lines(
    conn: sqlite3.Connection, now: datetime, keys: list[str], *, days: int = 14, limit: int | None = None
) -> list[str] | None:
    """stale()'s deals as the tab-separated lines a piped listing of `keys` prints (output.emit_rows for
    tsv), joined by SQLite: 17k deals x a dict, two Decimals and a parsed instant each cost more than the
    query. days_idle is whole days from the last activity to now, as stale() counts it; when an activity
    instant is not in the stored form (fractions, offsets), or days/limit are invalid: None (use stale())."""
    from crm_cli.money import plain_sql
    from crm_cli.output import tsv_cells_sql

    if days < 1 or (limit is not None and limit < 1):
        return None  # stale() says what is wrong
    values = {
        "id": "id",
        "title": "title",
        "contact": "contact",
        "stage": "stage",
        "value": plain_sql("value"),
        "last_activity_at": "last_activity_at",
        "days_idle": "(CAST(strftime('%s', :now) AS INTEGER) - CAST(strftime('%s', last_activity_at) AS INTEGER))"
        " / 86400",
        "expected_close": "expected_close",
        "owner": "owner",
    }
    cursor = conn.cursor()
    cursor.row_factory = None
    lines = [
        row[0]
        for row in cursor.execute(
            f"SELECT CASE WHEN last_activity_at GLOB '{_STORED_INSTANT}' "
            f"THEN {tsv_cells_sql([values[k] for k in keys])} || char(10) END "
            f"FROM ({deals.SELECT} WHERE s.kind = 'open') WHERE last_activity_at < :cutoff "
            "ORDER BY last_activity_at, id LIMIT :limit",
            {"now": utc_iso(now), "cutoff": utc_iso(now - timedelta(days=days)), "limit": limit or -1},
        )
    ]
    return None if None in lines else lines


# ---------------------------------------------------------------------------------------------
# Stage conversion


def conversion(
    conn: sqlite3.Connection, now: datetime, *, start: datetime | None = None, end: datetime | None = None
) -> list[dict]:
    """The funnel: open stages in order, then won. For each stage, of the deals that reached it, the share
    that reached the next one, and the median days a deal spent in it.

    A deal reached a stage when its history shows it there, or when it entered the pipeline at or before
    that stage and later got past it (a jump from lead to negotiation passes qualified and proposal).
    Entering the pipeline beyond a stage is not reaching it. Median days count completed stays only (the
    deal moved on). Optional [start, end) keeps deals created in that window."""
    from crm_cli.periods import Range

    funnel = [s for s in deals.stages(conn) if s.kind == "open"] + [s for s in deals.stages(conn) if s.kind == "won"]
    index_case = "CASE {col} " + " ".join(f"WHEN ? THEN {i}" for i in range(len(funnel))) + " END"
    names = [s.name for s in funnel]
    where, params = Range(start, end).sql("d.created_at")
    deals_join = "JOIN deals d ON d.id = h.deal_id" if params else ""  # only a window needs the deals
    pairs = conn.execute(
        f"""SELECT coalesce(entry_idx, min_idx) AS entry_idx, max_idx, count(*) AS n FROM (
                SELECT deal_id, min(first_idx) AS entry_idx, min(idx) AS min_idx, max(idx) AS max_idx FROM (
                    SELECT h.deal_id, {index_case.format(col="h.to_stage")} AS idx,
                           first_value({index_case.format(col="h.to_stage")})
                               OVER (PARTITION BY h.deal_id ORDER BY h.changed_at, h.id) AS first_idx
                    FROM deal_stage_history h {deals_join}
                    WHERE {where})
                GROUP BY deal_id)
            WHERE max_idx IS NOT NULL
            GROUP BY 1, 2""",
        names + names + params,
    ).fetchall()
    medians = {
        r["to_stage"]: (r["median"], r["n"])
        for r in conn.execute(
            f"""WITH stays AS (
                    SELECT to_stage, julianday(next_at) - julianday(changed_at) AS days FROM (
                        SELECT h.to_stage, h.changed_at,
                               lead(h.changed_at) OVER (PARTITION BY h.deal_id ORDER BY h.changed_at, h.id)
                                   AS next_at
                        FROM deal_stage_history h {deals_join} WHERE {where})
                    WHERE next_at IS NOT NULL),
                ranked AS (
                    SELECT to_stage, days, row_number() OVER (PARTITION BY to_stage ORDER BY days) AS rn,
                           count(*) OVER (PARTITION BY to_stage) AS n
                    FROM stays)
                SELECT to_stage, avg(days) AS median, max(n) AS n FROM ranked
                WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY to_stage""",
            params,
        )
    }
    rows = []
    for i, stage in enumerate(funnel):
        reached = sum(p["n"] for p in pairs if p["entry_idx"] <= i <= p["max_idx"])
        is_last = i == len(funnel) - 1
        advanced = None if is_last else sum(p["n"] for p in pairs if p["entry_idx"] <= i and p["max_idx"] > i)
        median, stays = medians.get(stage.name, (None, 0))
        rows.append(
            {
                "stage": stage.name,
                "position": stage.position,
                "reached": reached,
                "next_stage": None if is_last else funnel[i + 1].name,
                "advanced": advanced,
                "conversion": None if is_last or not reached else round(advanced / reached, 4),
                "median_days_in_stage": None if is_last else _days(median),
                "completed_stays": 0 if is_last else stays,
            }
        )
    return rows
