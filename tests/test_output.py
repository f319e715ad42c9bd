"""The one renderer: exact money in JSON, formats, ndjson, terminal tables."""

from decimal import Decimal

from crm_cli import output


def test_json_money_is_exact():
    assert output.dumps({"v": Decimal("6000")}, indent=None) == '{"v": 6000}'
    assert output.dumps({"v": Decimal("249.90")}, indent=None) == '{"v": 249.9}'
    assert output.dumps({"v": Decimal("0.1")}, indent=None) == '{"v": 0.1}'
    assert output.dumps({"v": Decimal("123456789012.345")}, indent=None) == '{"v": 123456789012.345}'
    big = Decimal("12345678901234567.891")
    assert output.dumps({"v": big}, indent=None) == '{"v": "12345678901234567.891"}'


def test_spreadsheet_safe_cells():
    for cell in ["=1+1", "+966", "-5+A1", "-A1", "@SUM(A1)", "\tx", "\rx", "-"]:
        assert output.spreadsheet_safe(cell) == "'" + cell
    for cell in ["Sara", "-5", "-0.25", "12"]:
        assert output.spreadsheet_safe(cell) == cell


def test_ndjson_lists_one_object_per_line(crm):
    crm.ok("contact", "add", "A")
    crm.ok("contact", "add", "B")
    lines = crm.ok("contact", "list", "--ndjson").stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith('{"id": 1')


def test_terminal_table_and_empty_message(crm):
    assert crm.ok("contact", "list", tty=True).stderr == "no contacts match\n"
    crm.ok("contact", "add", "Sara", "--tag", "vip")
    out = crm.ok("contact", "list", tty=True).stdout
    assert "Sara" in out and "╭" in out


def test_sparkline_and_bar():
    assert output.sparkline([0, 1, 2, 3]) == "▁▃▅█"
    assert output.sparkline([]) == ""
    assert str(output.bar(10, 10, width=4)) == "████"
    assert str(output.bar(0, 10)) == ""


def test_money_plain_sql_matches_plain_of_to_decimal():
    """Piped listings built by SQLite write amounts exactly as output.plain(money.to_decimal(v))."""
    import random
    import sqlite3

    from crm_cli import money, output

    rng = random.Random(7)
    values = [None, 0, 1, -1, 5, 10, 100, 999, 1000, 1001, -1000, -1500, 249900, 6000000, 2**62 - 1, -(2**62 - 1)]
    values += [10**k + d for k in range(1, 19) for d in (-1, 0, 1, 7, 10, 500)]
    values += [rng.randrange(-(2**62), 2**62) // rng.choice([1, 10, 1000, 10**6]) for _ in range(3000)]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (v INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    got = [r[0] for r in conn.execute(f"SELECT {money.plain_sql('v')} FROM t ORDER BY rowid")]
    assert got == [None if v is None else output.plain(money.to_decimal(v)) for v in values]
    assert [money.plain_text(v) for v in values[1:]] == got[1:]


def test_write_tsv_cells_are_plain():
    """write_tsv's shortcuts (int, str, the Decimals money makes) print what plain() prints."""
    import io
    import random
    from decimal import Decimal

    from crm_cli import money, output

    rng = random.Random(11)
    values = [0, -3, 7, True, False, None, "x", 1.5, [1, "a"], {"k": 1}]
    values += [Decimal(t) for t in ("0", "-0", "0.0", "1E+3", "2.50", "NaN", "0.0005", "0.001")]
    values += [Decimal(t) for t in ("1234567890123456.7", "-0.25", "12.500", "1e-7", "100", "-12")]
    values += [
        money.to_decimal(rng.randrange(-(10**18), 10**18) // rng.choice([1, 10, 1000, 10**9])) for _ in range(2000)
    ]
    values += [money.to_decimal(v) for v in range(-2000, 2000)]
    out = io.StringIO()
    output.write_tsv(out, ([v] for v in values), 1)
    assert out.getvalue().splitlines() == [output.plain(v) for v in values]
