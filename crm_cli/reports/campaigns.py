"""What a campaign earned: reach, responses, conversions in an attribution window, revenue and return.

Definitions (README "## Campaigns" documents them for users):
- audience = members frozen at launch; excluded = do-not-contact + (e-mail) no address, counted at launch.
- sent = members whose message went out (e-mail: accepted by the SMTP server or reported by an e-mail
  service; other channels: every member, at launch). delivered = sent less bounces. failed = refused
  by the server + bounced. unknown = left 'sending' by an interrupted run.
- rates (0-1) are over delivered: opened, clicked, replied, unsubscribed / delivered.
- a conversion is a delivered member who, within the window after their send, made a purchase (any
  purchase interaction: `crm log purchase`, a won deal, `respond … purchased --amount`) or was recorded
  as `purchased`. A purchase linked to this campaign (campaign_id) counts whenever it happened; one
  linked to another campaign never counts here.
- revenue = those purchases in the campaign's currency; other currencies are listed apart, never summed.
- cost_per_conversion = cost / conversions; return_on_spend = (revenue - cost) / cost.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from crm_cli import campaigns
from crm_cli.db import utc_iso
from crm_cli.money import to_decimal

RATE = Decimal("0.0001")


def _ratio(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE, rounding=ROUND_HALF_UP)


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


_STORED = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z"


_STORED_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def campaign_report(conn: sqlite3.Connection, campaign: sqlite3.Row, window_days: int) -> dict:
    cid = campaign["id"]
    window = timedelta(days=window_days)
    cursor = conn.cursor()
    cursor.row_factory = None
    members = cursor.execute(
        f"""SELECT m.contact_id, m.status, m.error, m.sent_at, m.opened_at, m.clicked_at, m.replied_at,
                  m.purchased_at, m.unsubscribed_at, m.purchased_at GLOB '{_STORED}'
           FROM campaign_members m WHERE m.campaign_id = ?""",
        (cid,),
    ).fetchall()
    sent = [m for m in members if m[1] == "sent"]
    bounced = [m for m in sent if m[2] == "bounced"]
    delivered = [m for m in sent if m[2] != "bounced"]
    # contact -> its attribution window [start, end): as text when the send time has the stored form
    # 'YYYY-MM-DDTHH:MM:SSZ' (db.utc_iso; such text compares like the instants), else as instants
    windows: dict[str, tuple] = {}
    touched = {}
    for m in delivered:
        if m[3]:
            bounds = windows.get(m[3])
            if bounds is None:
                start = _instant(m[3])
                end = start + window
                text = utc_iso(end)
                stored = _STORED_RE.fullmatch(m[3]) and _STORED_RE.fullmatch(text)
                bounds = windows[m[3]] = (m[3], text, True) if stored else (start, end, False)
            touched[m[0]] = bounds

    def in_window(contact_id: int, at: str, stored: int | None) -> bool:
        bounds = touched.get(contact_id)
        if bounds is None:
            return False
        start, end, as_text = bounds
        if as_text:
            if stored:
                return start <= at < end
            start, end = _instant(start), _instant(end)
        return start <= _instant(at) < end

    purchases = cursor.execute(
        f"""SELECT i.contact_id, i.amount, i.currency, i.happened_at, i.campaign_id, i.happened_at GLOB '{_STORED}'
           FROM interactions i JOIN campaign_members m ON m.contact_id = i.contact_id AND m.campaign_id = ?
           WHERE i.kind = 'purchase' AND (i.campaign_id IS NULL OR i.campaign_id = ?)
           ORDER BY i.happened_at, i.id""",
        (cid, cid),
    ).fetchall()
    converted: set[int] = set()
    revenue: dict[str, int] = {}
    own_currency = campaign["currency"]
    for contact_id, amount, currency, happened_at, campaign_id, stored in purchases:
        if campaign_id != cid and not in_window(contact_id, happened_at, stored):
            continue
        converted.add(contact_id)
        currency = currency or own_currency
        revenue[currency] = revenue.get(currency, 0) + (amount or 0)
    for m in delivered:  # `respond … purchased` without an amount still converts
        if m[7] and in_window(m[0], m[7], m[9]):
            converted.add(m[0])

    def responded(column: int) -> int:
        return sum(1 for m in delivered if m[column])

    own_revenue = Decimal(revenue.get(campaign["currency"], 0)) / 1000
    cost = Decimal(campaign["cost"]) / 1000
    conversions = len(converted)
    opened, clicked = responded(4), responded(5)
    replied, unsubscribed = responded(6), responded(8)
    c = campaigns.counts(conn, cid)
    cpc = (cost / conversions).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) if conversions else None
    return {
        "campaign_id": cid,
        "name": campaign["name"],
        "channel": campaign["channel"],
        "status": campaigns.status_of(campaign, c),
        "launched_at": campaign["launched_at"],
        "window_days": window_days,
        "audience": len(members),
        "excluded": campaign["excluded_dnc"] + campaign["excluded_no_email"],
        "excluded_dnc": campaign["excluded_dnc"],
        "excluded_no_email": campaign["excluded_no_email"],
        "sent": len(sent),
        "delivered": len(delivered),
        "failed": c["failed"] + len(bounced),
        "bounced": len(bounced),
        "pending": c["pending"],
        "unknown": c["sending"],
        "opened": opened,
        "clicked": clicked,
        "replied": replied,
        "unsubscribed": unsubscribed,
        "open_rate": _ratio(opened, len(delivered)),
        "click_rate": _ratio(clicked, len(delivered)),
        "reply_rate": _ratio(replied, len(delivered)),
        "unsubscribe_rate": _ratio(unsubscribed, len(delivered)),
        "conversions": conversions,
        "conversion_rate": _ratio(conversions, len(delivered)),
        "revenue": to_decimal(revenue.get(campaign["currency"], 0)),
        "currency": campaign["currency"],
        "revenue_other_currencies": [
            {"currency": cur, "amount": to_decimal(amount)}
            for cur, amount in sorted(revenue.items())
            if cur != campaign["currency"]
        ],
        "cost": to_decimal(campaign["cost"]),
        "cost_per_conversion": _normal(cpc),
        "return_on_spend": _ratio(own_revenue - cost, cost),
    }


def _normal(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def all_campaigns(conn: sqlite3.Connection, window_days: int) -> list[dict]:
    rows = conn.execute("SELECT * FROM campaigns ORDER BY id").fetchall()
    return [campaign_report(conn, row, window_days) for row in rows]
