"""Encoding detection on short files: Arabic Windows-1256 must not be read as cp932 / mac_* (garbled
names saved with exit 0), and Western cp1252 files must still be read as Western."""

from __future__ import annotations

import pytest


def names(crm) -> list[str]:
    return [row["name"] for row in crm.ok("contact", "list", "kind:any", "--json").json()]


def cities(crm) -> list[str]:
    return [row["city"] for row in crm.ok("contact", "list", "kind:any", "--json").json()]


@pytest.mark.parametrize(
    ("text", "expected_names", "expected_cities"),
    [
        ("name,city\nعلي,جدة\n", ["علي"], ["جدة"]),
        ("name;city\nمحمد;مكة\n", ["محمد"], ["مكة"]),
        ("name,city\nهدى الحربي,الرياض\nسعد,أبها\n", ["هدى الحربي", "سعد"], ["الرياض", "أبها"]),
    ],
)
def test_short_cp1256_file_is_read_as_cp1256(crm, tmp_path, text, expected_names, expected_cities):
    path = tmp_path / "s.csv"
    path.write_bytes(text.encode("cp1256"))
    result = crm("contact", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "read as cp1256 (detected" in result.stderr
    assert sorted(names(crm)) == sorted(expected_names)
    assert sorted(cities(crm)) == sorted(expected_cities)


def test_one_arabic_row_among_latin_rows_is_read_as_cp1256(crm, tmp_path):
    path = tmp_path / "m.csv"
    body = "name,email,city\n" + "".join(f"P{i},p{i}@x.com,Riyadh\n" for i in range(20))
    path.write_bytes((body + "هدى,h@x.com,الرياض\n").encode("cp1256"))
    result = crm("contact", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "read as cp1256 (detected" in result.stderr
    rows = {row["name"]: row for row in crm.ok("contact", "list", "kind:any", "--json").json()}
    assert rows["هدى"]["city"] == "الرياض" and len(rows) == 21


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name,city\nJosé Müller,Köln\n", ["José Müller"]),
        ("name,city\nFrançoise Noël,Orléans\n", ["Françoise Noël"]),
        ("name,city\nBöhm,Straße\n", ["Böhm"]),
        ("name,city\nJÜRGEN SCHÄFER,MÜNCHEN\n", ["JÜRGEN SCHÄFER"]),
        ("name,city\nNuñez,España\nŒuvre,Besançon\n", ["Nuñez", "Œuvre"]),
    ],
)
def test_short_western_cp1252_file_is_read_as_western(crm, tmp_path, text, expected):
    path = tmp_path / "w.csv"
    path.write_bytes(text.encode("cp1252"))
    result = crm("contact", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "(detected" in result.stderr
    assert sorted(names(crm)) == sorted(expected)
    city = text.splitlines()[1].split(",")[1]
    assert city in cities(crm)


def test_latin1_file_is_read_as_western(crm, tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes("name,notes\nRenée Dubois,à bientôt\n".encode("latin-1"))
    crm.ok("contact", "import", str(path))
    row = crm.ok("contact", "list", "kind:any", "--json").json()[0]
    assert (row["name"], row["notes"]) == ("Renée Dubois", "à bientôt")


def test_encoding_option_still_overrides_detection(crm, tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("name\nعلي\n".encode("cp1256"))
    result = crm("contact", "import", str(path), "--encoding", "latin-1")
    assert result.exit_code == 0, result.stderr
    assert "detected" not in result.stderr
    assert names(crm) == ["Úáí"]
