"""crm contact duplicates: blocking keys, transliteration-insensitive names, handles, scores."""

import pytest

from crm_cli import db as dbmod
from crm_cli import duplicates
from tests.conftest import dump


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mohammed Al-Harbi", "Mohamed Alharbi"),
        ("Mohammed Al-Harbi", "محمد الحربي"),
        ("أحمد", "احمد"),
        ("Ahmed", "أحمد"),
        ("Sarah Haddad", "سارة الحداد"),
        ("Abdullah", "عبدالله"),
        ("Youssef", "يوسف"),
        ("Khalid Al Otaibi", "خالد العتيبي"),
    ],
)
def test_spellings_share_a_skeleton(a, b):
    assert duplicates.skeleton(duplicates.clean_name(a)) == duplicates.skeleton(duplicates.clean_name(b))


@pytest.mark.parametrize(("a", "b"), [("Omar Khalil", "Sara Khalil"), ("Noura", "Nasser"), ("Ali", "Lina")])
def test_different_names_differ(a, b):
    assert duplicates.skeleton(duplicates.clean_name(a)) != duplicates.skeleton(duplicates.clean_name(b))


def test_issue_example_pairs_with_reasons(crm):
    crm.ok("config", "set", "default_region", "SA")
    crm.ok("contact", "add", "Mohammed Al-Harbi", "--email", "m.harbi@example.com")
    crm.ok("contact", "add", "محمد الحربي", "--phone", "+966 50 000 1111")
    assert crm("contact", "add", "Mohamed Alharbi", "--email", "M.Harbi@Example.com").exit_code == 4
    assert crm("contact", "add", "Mohamed Alharbi", "--phone", "0500001111").exit_code == 4
    crm.ok("contact", "add", "Mohamed Alharbi")
    crm.ok("contact", "add", "Sara Haddad")
    crm.ok("contact", "add", "أحمد")
    crm.ok("contact", "add", "احمد")
    pairs = crm.ok("contact", "duplicates", "--json").json()
    assert set(pairs[0]) == {"a", "b", "a_name", "b_name", "score", "reason"}
    found = {(p["a"], p["b"]): p for p in pairs}
    assert found[(5, 6)]["score"] == 1.0 and found[(5, 6)]["reason"] == "same name"
    assert found[(1, 3)]["reason"] == "same name in another spelling"
    assert found[(1, 3)]["score"] > found[(1, 2)]["score"] >= 0.8  # same script ranks above cross-script
    assert (2, 3) in found
    assert all(4 not in (p["a"], p["b"]) for p in pairs)  # Sara has no twin
    assert all(0 <= p["score"] <= 1 for p in pairs)
    assert [(p["a"], p["b"]) for p in pairs] == sorted(found, key=lambda k: (-found[k]["score"], k))
    # Piped: tsv rows; --min-score filters.
    assert crm.ok("contact", "duplicates").lines[0].split("\t")[:4] == ["5", "أحمد", "6", "احمد"]
    assert [(p["a"], p["b"]) for p in crm.ok("contact", "duplicates", "--min-score", "0.99", "--json").json()] == [
        (5, 6)
    ]


def test_same_phone_left_unnormalised_by_older_data(crm, db_path):
    crm.ok("contact", "add", "Omar Khalil", "--phone", "+966500001111")
    crm.ok("contact", "add", "O. Khalil")
    conn = dbmod.connect(db_path)
    with dbmod.write(conn, "legacy import"):
        conn.execute("UPDATE contacts SET phone = '050 000 1111' WHERE id = 2")
    conn.close()
    pairs = crm.ok("contact", "duplicates", "--json").json()
    assert pairs == [
        {"a": 1, "b": 2, "a_name": "Omar Khalil", "b_name": "O. Khalil", "score": 1.0, "reason": "same phone"}
    ]


def test_middle_name_missing_on_one_side(crm):
    crm.ok("contact", "add", "Mohammed Salem Al-Harbi")
    crm.ok("contact", "add", "Mohamed Alharbi")
    crm.ok("contact", "add", "Mohammed Ali Al-Harbi")
    pairs = {(p["a"], p["b"]): p for p in crm.ok("contact", "duplicates", "--json").json()}
    assert pairs[(1, 2)]["reason"] == "same name with one more word"
    assert pairs[(2, 3)]["reason"] == "same name with one more word"
    assert (1, 3) not in pairs  # a different father's name: two people


def test_different_emails_lower_the_score(crm):
    crm.ok("contact", "add", "Sara Haddad", "--email", "sara@one.example")
    crm.ok("contact", "add", "Sara Haddad", "--email", "sara@two.example")
    crm.ok("contact", "add", "Omar Khalil")
    crm.ok("contact", "add", "Omar Khalil")
    pairs = {(p["a"], p["b"]): p for p in crm.ok("contact", "duplicates", "--json").json()}
    assert pairs[(3, 4)]["score"] == 1.0
    assert pairs[(1, 2)] | {"score": round(pairs[(1, 2)]["score"], 3)} == {
        "a": 1,
        "b": 2,
        "a_name": "Sara Haddad",
        "b_name": "Sara Haddad",
        "score": 0.9,
        "reason": "same name; different e-mails",
    }


def test_organisations_are_not_paired_with_people_and_forgotten_are_skipped(crm, db_path):
    crm.ok("contact", "add", "Haddad Trading", "--org")
    crm.ok("contact", "add", "Haddad Trading")
    assert crm.ok("contact", "duplicates", "--json").json() == []


def test_very_common_names_are_not_expanded(db_path):
    conn = dbmod.connect(db_path)
    with dbmod.write(conn, "fixture"):
        for _ in range(duplicates.MAX_BLOCK + 1):
            conn.execute(
                "INSERT INTO contacts (name, name_key, created_at, updated_at) "
                "VALUES ('Mohammed Ahmed', 'mohammed ahmed', 'x', 'x')"
            )
    assert duplicates.find(conn) == []
    conn.close()


def test_bad_options(crm, db_path):
    crm.ok("contact", "add", "Sara Haddad")
    before = dump(db_path)
    result = crm("contact", "duplicates", "--min-score", "2")
    assert result.exit_code == 2 and "--min-score" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert dump(db_path) == before
    empty = crm("contact", "duplicates", tty=True)
    assert empty.exit_code == 0 and "no likely duplicates" in empty.stderr


def test_blocking_scales(db_path):
    """5,000 contacts with shared surnames: well under a second, and only real pairs come back."""
    import time

    first = ["Omar", "Sara", "Noura", "Khalid", "Reem", "Tariq", "Huda", "Faisal", "Maha", "Salem"]
    last = ["Haddad", "Khalil", "Mansour", "Saleh", "Aziz", "Darwish", "Barakat", "Hamdan"]
    conn = dbmod.connect(db_path)
    with dbmod.write(conn, "fixture"):
        for i in range(5000):
            name = f"{first[i % 10]} {first[(i // 10) % 10]} {last[(i // 100) % 8]} {i}"
            conn.execute(
                "INSERT INTO contacts (name, name_key, created_at, updated_at) VALUES (?, lower(?), 'x', 'x')",
                (name, name),
            )
    start = time.process_time()
    assert duplicates.find(conn) == []
    assert time.process_time() - start < 2
    conn.close()


def _random_contacts(conn, seed: int, regular: float = 0.0) -> None:
    """A few hundred contacts from a small pool of spellings (Latin, Arabic, reordered, with a middle
    name), organisations, forgotten people, shared and differing e-mails and phones, and one block
    bigger than MAX_BLOCK. regular: the share of contacts whose handles are their primary e-mail and phone
    (as `contact add` and imports write them); the others have older-data primaries and random handles."""
    import random

    from crm_cli.text import normalize

    rng = random.Random(seed)
    first = ["Mohammed", "Mohamed", "محمد", "Sara", "سارة", "Omar", "عمر", "Noura"]
    middle = ["Salem", "سالم", "Ali"]
    last = ["Al-Harbi", "Alharbi", "الحربي", "Haddad", "الحداد", "Khalil", "El Khalil"]
    rows = []
    for _ in range(rng.randrange(50, 300)):
        words = [rng.choice(first), rng.choice(last)]
        if rng.random() < 0.25:
            words.insert(1, rng.choice(middle))
        if rng.random() < 0.1:
            words.reverse()
        name = " ".join(words) if rng.random() < 0.97 else "!!"
        email = rng.choice([None, None, f"p{rng.randrange(400)}@x.com", f" P{rng.randrange(40)}@X.com", ""])
        phone = rng.choice([None, None, f"+9665{rng.randrange(10**8):08d}", f"05{rng.randrange(30):08d}", "12"])
        if regular and rng.random() < regular:
            # mostly plain values; a few that only Python reads right (case, spaces, other scripts' digits)
            n = rng.randrange(30)
            email = rng.choice(
                [None, f"p{rng.randrange(400)}@x.com", f"q{rng.randrange(10**6)}@x.com"] * 5
                + [f"P{rng.randrange(400)}@X.com", f"{rng.choice('üÜ')}{n % 3}@x.com", f"p{n} @x.com"]
            )
            phone = rng.choice(
                [None, f"+9665{n:08d}", f"05{n:08d}", f"+1{rng.randrange(10**10)}"] * 5
                + [f"05{n:08d}".replace("0", "٠"), f"+966 5{n:08d}", "+966", "0"]
            )
        rows.append((name, email, phone, rng.choice(["person"] * 9 + ["organization"]), int(rng.random() < 0.03)))
    rows += [("Reem Aziz", None, None, "person", 0)] * (duplicates.MAX_BLOCK + rng.randrange(2))
    with dbmod.write(conn, "fixture"):
        for name, email, phone, kind, forgotten in rows:
            cid = conn.execute(
                "INSERT INTO contacts (name, name_key, kind, email, phone, dnc, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'x', 'x')",
                (f"forgotten #{name}" if forgotten else name, normalize(name), kind, email, phone, forgotten),
            ).lastrowid
            if regular and rng.random() < regular:
                for kind_of, key in (("email", email), ("phone", phone)):
                    if key is not None:
                        conn.execute(
                            "INSERT OR IGNORE INTO contact_handles (contact_id, type, value, key) VALUES (?, ?, ?, ?)",
                            (cid, kind_of, key, key),
                        )
            elif rng.random() < 0.3:
                key = rng.choice([f"p{rng.randrange(400)}@x.com", f"+9665{rng.randrange(30):08d}"])
                conn.execute(
                    "INSERT OR IGNORE INTO contact_handles (contact_id, type, value, key) VALUES (?, ?, ?, ?)",
                    (cid, "email" if "@" in key else "phone", key, key),
                )


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("regular", [0.0, 0.8])
def test_count_equals_the_number_of_pairs_found(db_path, seed, regular):
    """report quality counts pairs without building them: the same number as find(), at any threshold,
    whether SQLite knows most contacts (handles = primary columns) or Python reads them back."""
    conn = dbmod.connect(db_path)
    _random_contacts(conn, seed, regular)
    for min_score in (0.5, 0.77, 0.8, 0.8005, 0.85, 0.9, 0.95, 0.97, 1.0, 1.01):
        assert duplicates.count(conn, min_score=min_score) == len(duplicates.find(conn, min_score=min_score))
    conn.close()
