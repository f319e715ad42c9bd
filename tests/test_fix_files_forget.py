"""contact forget: no fragment of the name may stay in the file, including the article-stripped words
(الحداد -> حداد) that search_text adds, in live rows or in the history images of other contacts."""

from __future__ import annotations

import sqlite3

from tests.conftest import file_bytes


def _fragments(name: str) -> set[str]:
    """Every word of the name as typed, lower-cased, with ة/ه, and without the Arabic article."""
    words = set()
    for word in name.split():
        for form in (word, word.lower(), word.replace("ة", "ه")):
            words.add(form)
            if form.startswith("ال"):
                words.add(form[2:])
    return {w for w in words if len(w) >= 3}


def test_forget_leaves_no_fragment_of_arabic_and_latin_names(crm, db_path):
    arabic = "سارة الحداد"
    longer = "عبدالرحمن القحطاني"
    latin = "Yasmin Haddadine"
    crm.ok("contact", "add", arabic, "--email", "sara@example.com")
    crm.ok("contact", "add", "Omar", "--notes", f"قابلت {arabic}")
    crm.ok("contact", "edit", "Omar", "--notes", f"قابلت {arabic} مرتين")
    crm.ok("contact", "add", longer, "--email", "abd@example.com")
    crm.ok("contact", "add", "Laila", "--notes", f"زميلة {longer} في العمل", "--company", "Acme")
    crm.ok("contact", "add", latin, "--email", "yasmin@example.com")
    crm.ok("contact", "add", "John Smith", "--notes", f"lunch with {latin} on Monday")
    crm.ok("log", "note", "Omar", f"talked about {latin} and {arabic}")

    secrets = _fragments(arabic) | _fragments(longer) | _fragments(latin)
    assert "حداد" in secrets and "قحطاني" in secrets and "haddadine" in secrets
    before = file_bytes(db_path)
    assert [s for s in secrets if s.encode() not in before] == []  # the test would see them

    for ref in ("sara@example.com", "abd@example.com", "yasmin@example.com"):
        result = crm("contact", "forget", ref, "--yes")
        assert result.exit_code == 0, result.stderr

    data = file_bytes(db_path)
    assert [s for s in secrets if s.encode() in data] == []

    # The people who quoted them keep their record minus the quote, and search still finds them.
    rows = {r["name"]: r for r in crm.ok("contact", "list", "kind:any", "--json").json()}
    assert crm.ok("contact", "show", "Omar", "--json").json()["notes"] == "قابلت [forgotten] مرتين"
    assert crm.ok("contact", "show", "Laila", "--json").json()["notes"] == "زميلة [forgotten] في العمل"
    assert crm.ok("contact", "show", "John Smith", "--json").json()["notes"] == "lunch with [forgotten] on Monday"
    assert "Omar" in rows and "Laila" in rows
    assert [r["name"] for r in crm.ok("contact", "list", "مرتين", "--json").json()] == ["Omar"]
    assert [r["name"] for r in crm.ok("contact", "list", "العمل", "--json").json()] == ["Laila"]
    assert crm.ok("contact", "list", "حداد", "--json").json() == []
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # the history images of the quoting contacts carry a search_text rebuilt from the scrubbed values
        images = [
            r[0]
            for r in conn.execute(
                "SELECT json_extract(coalesce(after, before), '$.search_text') FROM change_rows "
                "WHERE tbl = 'contacts' AND coalesce(after, before) IS NOT NULL"
            )
        ]
        assert any("[forgotten]" in (text or "") for text in images)
    finally:
        conn.close()
