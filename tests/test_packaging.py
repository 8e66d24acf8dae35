"""A non-editable install carries sql/ and reports/ and works from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import protiso, sys
from pathlib import Path
from protiso.warehouse import resources
from protiso.warehouse import Warehouse
assert Path(protiso.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), protiso.__file__
assert resources.root("sql").is_relative_to(Path(sys.argv[1]).resolve())
assert (resources.root("reports") / "base.html").exists()
assert (Path(protiso.__file__).parent / "data" / "sample" / "swissprot_2014_sample.fasta.gz").exists()
with Warehouse.create(Path(sys.argv[2]) / "w") as wh:
    names = {name for name, _, _ in wh.tables()}
    assert {"proteins", "embeddings", "runs", "isotropy"} <= names, names
print("ok")
"""


def test_wheel_install_carries_sql_and_reports(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(REPO)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target))
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(target), str(elsewhere)],
        capture_output=True, text=True, cwd=elsewhere, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_help_does_not_import_torch() -> None:
    code = "import sys; from protiso.cli import app; import protiso.cli; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([sys.executable, "-m", "protiso", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "Usage" in result.stdout
