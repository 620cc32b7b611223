"""The revision chain read from the scripts equals Alembic's, without loading Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from audit.store import migrate
from audit.store.errors import DatabaseError

ROOT = Path(__file__).resolve().parents[3]


def test_chain_equals_alembics_walk() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    walked = [s.revision for s in scripts.walk_revisions()]  # head first
    assert migrate.revision_chain() == tuple(reversed(walked))
    assert migrate.head_revision() == scripts.get_current_head()
    assert migrate.known_revisions() == frozenset(walked)


def test_a_broken_chain_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "versions").mkdir()
    for name, rev, down in (("a.py", "'0001'", "None"), ("b.py", "'0002'", "'0001'"),
                            ("c.py", "'0003'", "'0009'")):
        (tmp_path / "versions" / name).write_text(f"revision = {rev}\ndown_revision = {down}\n")
    monkeypatch.setattr(migrate, "MIGRATIONS", tmp_path)
    migrate.revision_chain.cache_clear()
    try:
        with pytest.raises(DatabaseError, match="one chain"):
            migrate.revision_chain()
    finally:
        migrate.revision_chain.cache_clear()


def test_reading_commands_do_not_load_alembic(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    probe = (
        "import sys\n"
        f"sys.argv = ['iom-audit', '--db', {str(db)!r}, 'info']\n"
        "import cli.main\n"
        "try:\n    cli.main.main()\nexcept SystemExit:\n    pass\n"
        "print('alembic' in sys.modules, file=sys.stderr)\n")
    env_run = [sys.executable, "-m", "cli.main", "--db", str(db), "init"]
    subprocess.run(env_run, check=True, capture_output=True, cwd=ROOT)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr
