"""An export that fails leaves the file it was writing to as it was, and writes nothing on stdout;
one that succeeds replaces the file whole (owner-only), through a symlink if the path is one."""

import os
import stat

import pytest


@pytest.fixture
def some(crm):
    crm.ok("contact", "add", "Sara", "--tag", "vip", "--email", "sara@example.com")
    crm.ok("log", "call", "Sara", "asked for prices")
    crm.ok("deal", "add", "Sara", "Tiles", "--value", "100")
    return crm


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (("contact", "export", "bogus:1", "--format", "csv"), 2),
        (("contact", "export", "segment:nope", "--format", "json"), 3),
        (("contact", "export", "bogus:1", "--format", "vcard"), 2),
        (("contact", "export", "bogus:1", "--format", "ndjson"), 2),
        (("deal", "export", "bogus:1"), 2),
        (("log", "export", "bogus:1"), 2),
    ],
)
def test_a_failed_export_keeps_the_old_file_and_leaves_no_part_file(some, tmp_path, command, code):
    target = tmp_path / "out.dat"
    target.write_text("yesterday's export\n")
    result = some(*command, "-o", str(target))
    assert result.exit_code == code and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert target.read_text() == "yesterday's export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db", "crm.db-shm", "crm.db-wal", "out.dat"]


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "vcard"])
def test_a_failed_export_to_stdout_writes_nothing_there(some, fmt):
    result = some("contact", "export", "bogus:1", "--format", fmt)
    assert result.exit_code == 2 and result.stdout == ""


def test_a_finished_export_replaces_the_file_owner_only_and_keeps_a_symlink(some, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    real.chmod(0o644)
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    some.ok("contact", "export", "-o", str(link))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().splitlines()[1].split(",")[2] == "Sara"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
