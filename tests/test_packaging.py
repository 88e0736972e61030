"""`pip install .` gives a working care-bot: the wheel holds every module and every data file the app opens
(the migrations and their template, the default triage policy), and `care-bot --version` names the release."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from bot.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "connectors", "migrations")


def source_files() -> set[str]:
    """Every file of the packages as the wheel should hold it (byte-code caches aside)."""
    return {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The wheel `pip install .` would install, built offline from a copy of the tree (setuptools from the
    test extra), so the build leaves nothing in the working tree."""
    work = tmp_path_factory.mktemp("wheel")
    tree = work / "src"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work / "dist")]
        + [str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [built] = (work / "dist").glob("care_bot-*.whl")
    with zipfile.ZipFile(built) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_wheel_holds_every_module_and_data_file_of_the_packages(wheel: dict[str, bytes]) -> None:
    assert source_files() - set(wheel) == set()


def test_the_wheel_holds_what_the_app_opens_at_run_time_and_the_command(wheel: dict[str, bytes]) -> None:
    versions = {p.relative_to(ROOT).as_posix() for p in (ROOT / "migrations" / "versions").glob("*.py")}
    data = {"migrations/script.py.mako", "bot/services/triage_policy.toml", "migrations/env.py"}
    data |= {f"migrations/{name}" for name in ("alembic.ini",) if (ROOT / "migrations" / name).exists()}
    assert len(versions) > 10 and versions | data <= set(wheel)
    [entry_points] = [text for name, text in wheel.items() if name.endswith(".dist-info/entry_points.txt")]
    assert "care-bot = bot.__main__:main" in entry_points.decode()


def test_version_prints_the_installed_release(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"care-bot {version('care-bot')}\n"
