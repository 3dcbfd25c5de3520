#!/usr/bin/env python3
"""Gather xltool's wheel and every dependency wheel into one folder, for an offline machine.

Run it where the package index is reachable, for the platform and Python of the machine that
will install (it need not be this one):

    python3 tools/offline_bundle.py --platform linux-x86_64 --python 3.11 -o xltool-离线安装包
    python3 tools/offline_bundle.py --platform linux-aarch64 --python 3.10 -o xltool-kunpeng
    python3 tools/offline_bundle.py --platform windows-x86_64 --python 3.12 -o xltool-windows

Copy the folder to the offline machine and install from it with the index switched off:

    python3 -m venv xltool-env
    xltool-env/bin/pip install --no-index --find-links xltool-离线安装包 xltool
    (Windows: xltool-env\\Scripts\\pip install --no-index --find-links xltool-windows xltool)

Only binary wheels are taken (`--only-binary=:all:`), so nothing is compiled on the offline
machine. Linux wheels are manylinux for glibc 2.17 and later by default (CentOS 7 era and every
信创 Linux of today: Kylin V10 and UOS 20 carry glibc 2.28); `--glibc 2.28` allows newer wheels.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLATFORMS = {
    "linux-x86_64": "manylinux_{glibc}_x86_64",
    "linux-aarch64": "manylinux_{glibc}_aarch64",
    "windows-x86_64": "win_amd64",
}
# pip evaluates environment markers against the machine it runs on, not the target: a
# dependency that only the target's platform needs is named here (click needs colorama on Windows).
PLATFORM_EXTRAS = {"windows-x86_64": ["colorama"]}
PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def build(platform: str, python: str, out: Path, glibc: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xltool-wheel-") as tmp:
        pip("wheel", "--no-deps", "--quiet", "--wheel-dir", tmp, str(REPO))
        wheel = next(Path(tmp).glob("xltool-*.whl"))
        tag = PLATFORMS[platform].format(glibc=glibc.replace(".", "_"))
        pip("download", "--quiet", "--only-binary=:all:", "--platform", tag, "--python-version", python,
            "--implementation", "cp", "--dest", str(out), str(wheel), *PLATFORM_EXTRAS.get(platform, ()))
    return sorted(out.glob("*.whl"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=sorted(PLATFORMS), required=True, help="the offline machine's platform")
    parser.add_argument("--python", choices=PYTHONS, required=True, help="the offline machine's Python version")
    parser.add_argument("--glibc", default="2.17", help="oldest glibc of the Linux machines (default 2.17)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the folder to fill with wheels")
    args = parser.parse_args()
    wheels = build(args.platform, args.python, args.output, args.glibc)
    print(f"{len(wheels)} wheels in {args.output}:")
    for w in wheels:
        print(f"  {w.name}")
    print(f"On the offline machine: pip install --no-index --find-links {args.output} xltool")
    return 0


if __name__ == "__main__":
    sys.exit(main())
