"""The built wheel works on its own: grammar (and templates) are found without the source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import FILMS, ROOT


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_checks_a_film(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(dist), str(ROOT)], check=True, capture_output=True)
    wheel = next(dist.glob("filmc-*.whl"))
    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    site = next((env_dir / "lib").glob("python*/site-packages"))
    # Dependencies come from this interpreter's site-packages (no network); its .pth files, including the
    # editable install of filmc, are *not* processed from a path added this way, so filmc is the wheel's.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", "utf-8")
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True)
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(FILMS / "hello.film", work / "hello.film")
    where = subprocess.run([str(py), "-c", "import filmc, filmc_backends; print(filmc.__file__); "
                            "from importlib.resources import files; "
                            "print((files('filmc') / '_grammar' / 'film.lark').is_file())"],
                           cwd=work, capture_output=True, text=True, check=True)
    module_path, grammar_shipped = where.stdout.split()
    assert str(site) in module_path and grammar_shipped == "True"
    result = subprocess.run([str(env_dir / "bin" / "filmc"), "check", "hello.film"], cwd=work,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "1 film(s) checked" in result.stdout
    compiled = subprocess.run([str(env_dir / "bin" / "filmc"), "compile", "hello.film"], cwd=work,
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr  # templates and backends come from the wheel too
    assert "jobs to run" in compiled.stdout
