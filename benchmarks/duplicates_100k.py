"""Time `crm contact duplicates` core on a synthetic set of N contacts (default 100,000).

    python benchmarks/duplicates_100k.py [N]

Names are four words drawn from Arabic and Latin name lists (first, father's, grandfather's, family),
with a few planted duplicates spelled differently; every contact has a unique e-mail.
"""

import random
import sys
import tempfile
import time
from pathlib import Path

from crm_cli import db, duplicates
from crm_cli.text import normalize

FIRST = ["Mohammed", "Ahmed", "Omar", "Sara", "Fatima", "Khalid", "Noura", "Abdullah", "Youssef", "Layla",
         "Hassan", "Huda", "Faisal", "Reem", "Tariq", "Maha", "Salem", "Aisha", "Nasser", "Ibrahim", "Mariam",
         "Saad", "Hind", "Majed", "Lama", "Turki", "Dana", "Fahad", "Rana", "Sultan", "Nawaf", "Ghada",
         "محمد", "أحمد", "عمر", "سارة", "فاطمة", "خالد", "نورة", "عبدالله", "يوسف", "ليلى", "حسن", "هدى",
         "فيصل", "ريم", "طارق", "مها", "سالم", "عائشة", "ناصر", "إبراهيم", "مريم", "سعد", "هند", "ماجد"]  # fmt: skip
LAST = ["Al-Harbi", "Alqahtani", "Al Otaibi", "Haddad", "Khalil", "Mansour", "Saleh", "Nasser", "Aziz",
        "Al-Dosari", "Alshehri", "Al-Ghamdi", "Al Zahrani", "Al-Mutairi", "Alanazi", "Al-Shammari", "Hamdan",
        "Barakat", "Darwish", "Farouk", "الحربي", "القحطاني", "العتيبي", "الحداد", "خليل", "منصور",
        "الدوسري", "الشهري", "الغامدي", "الزهراني", "المطيري", "العنزي", "الشمري", "حمدان", "بركات"]  # fmt: skip


def build(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    conn = db.connect(path)
    rows = []
    for i in range(1, n + 1):
        # A middle name / family token makes most full names rare, like real customer lists.
        # first + father's + grandfather's + family name: most full names are rare, some repeat.
        name = f"{rng.choice(FIRST)} {rng.choice(FIRST)} {rng.choice(FIRST)} {rng.choice(LAST)}"
        if i % 1000 == 0:  # a planted duplicate of the previous one, spelled differently
            name = rows[-1][1].replace("Mohammed", "Mohamed").replace("Al-", "Al")
        rows.append((i, name, normalize(name), f"user{i}@example.com"))
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO contacts (id, name, name_key, email, created_at, updated_at) VALUES (?, ?, ?, ?, 'x', 'x')",
        rows,
    )
    conn.executemany(
        "INSERT INTO contact_handles (contact_id, type, value, key, is_primary) VALUES (?, 'email', ?, ?, 1)",
        [(r[0], r[3], r[3]) for r in rows],
    )
    conn.execute("COMMIT")
    conn.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        build(path, n)
        t1 = time.perf_counter()
        conn = db.connect(path)
        pairs = duplicates.find(conn)
        t2 = time.perf_counter()
        print(f"{n} contacts: built in {t1 - t0:.1f}s; duplicates.find {t2 - t1:.2f}s, {len(pairs)} pairs")
        for p in pairs[:5]:
            print(" ", p)


if __name__ == "__main__":
    main()
