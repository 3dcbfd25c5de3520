"""xltool as it is installed: what it reads at run time travels inside the package, and a
missing or damaged file is named as such. (.ci/run also builds the real wheel and the offline
bundle, installs them outside the checkout and runs the round: .ci/installed-round.)"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builders import make_return

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_folder_is_listed() -> None:
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "xltool").rglob("__init__.py")}
    mapped = {name: REPO / folder for name, folder in PYPROJECT["package-dir"].items()}
    assert found | set(mapped) == set(PYPROJECT["packages"])
    assert all((folder / "__init__.py").is_file() for folder in mapped.values())


@pytest.mark.parametrize("package", ["xltool.templates", "xltool.samples"])
def test_every_data_file_ships(package: str) -> None:
    folder = REPO / PYPROJECT["package-dir"][package]
    patterns = PYPROJECT["package-data"][package]
    files = [p.relative_to(folder).as_posix() for p in folder.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.name != "__init__.py"]
    assert files
    assert [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)] == []


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """The package laid out as the wheel lays it out (templates/ and samples/ inside xltool/)."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "xltool", site / "xltool", ignore=shutil.ignore_patterns("__pycache__"))
    for name, folder in PYPROJECT["package-dir"].items():
        shutil.copytree(REPO / folder, site.joinpath(*name.split(".")), ignore=shutil.ignore_patterns("__pycache__"))
    return site


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, "-m", "xltool", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_installed_layout_generates_and_verifies_from_another_folder(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_installed(installed, elsewhere, "generate", "--year", "2021", "--agency-code", "001",
                         "--agency-name", "某某局", "-o", "某某局.xlsx")
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "某某局.xlsx").is_file()
    assert run_installed(installed, elsewhere, "verify", "某某局.xlsx").returncode == 1  # blanks, not form-unknown
    assert "form-unknown" not in run_installed(installed, elsewhere, "verify", "某某局.xlsx", "--json").stdout


def test_missing_spec_is_named_not_an_unsupported_year(installed: Path, tmp_path: Path) -> None:
    ret = make_return(tmp_path)
    (installed / "xltool" / "templates" / "gov-info-disclosure-2021.yaml").unlink()
    done = run_installed(installed, tmp_path, "generate", "--year", "2021", "--agency-code", "001",
                         "--agency-name", "某某局", "-o", "x.xlsx")
    assert done.returncode == 2
    assert "安装不完整" in done.stderr and "xltool/templates/*.yaml" in done.stderr
    assert "不支持" not in done.stderr and "Traceback" not in done.stderr
    done = run_installed(installed, tmp_path, "verify", str(ret), "--json")
    assert done.returncode == 2 and "安装不完整" in done.stderr and "form-unknown" not in done.stdout


def test_damaged_spec_is_named(installed: Path, tmp_path: Path) -> None:
    ret = make_return(tmp_path)
    spec = installed / "xltool" / "templates" / "gov-info-disclosure-2021.yaml"
    spec.write_text(spec.read_text(encoding="utf-8")[:3000], encoding="utf-8")  # cut short
    done = run_installed(installed, tmp_path, "verify", str(ret))
    assert done.returncode == 2
    assert "xltool/templates/gov-info-disclosure-2021.yaml 已损坏" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("missing, command", [
    (("gov-info-disclosure-2021.narrative.j2",), ["report", "RETURN", "-o", "报告.md"]),
    (("mail", "send_body.txt"), ["send", "OUT", "--roster", "ROSTER", "--from", "gkb@example.gov.cn"]),
    (("status.html.j2",), ["status", "--roster", "ROSTER", "RETURN", "--html", "进度.html"]),
])
def test_missing_template_is_named(installed: Path, tmp_path: Path, missing: tuple[str, ...],
                                   command: list[str]) -> None:
    ret = make_return(tmp_path, code="001")
    (tmp_path / "out").mkdir()
    shutil.copy(ret, tmp_path / "out" / "001.xlsx")
    roster = tmp_path / "roster.csv"
    roster.write_text("code,name,email\n001,某某区营商环境建设监督局,a@example.gov.cn\n", encoding="utf-8")
    installed.joinpath("xltool", "templates", *missing).unlink()
    args = [{"RETURN": str(ret), "OUT": str(tmp_path / "out"), "ROSTER": str(roster)}.get(a, a) for a in command]
    done = run_installed(installed, tmp_path, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"缺少程序文件 xltool/templates/{'/'.join(missing)}" in done.stderr
    assert "Traceback" not in done.stderr
