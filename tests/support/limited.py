"""Run an xltool command the way a hostile input would meet it: in its own process, with a
memory ceiling and a wall-clock guard. The guard is the test's, not a budget in the product:
a finding never depends on the machine's load, but a hang or a blow-up must fail the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GUARD_SECONDS = 30
MEMORY_BYTES = 1 << 30  # 1 GiB of address space beyond what the interpreter maps at start


def _limit_memory() -> None:  # runs in the child before exec
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES + (512 << 20), MEMORY_BYTES + (512 << 20)))


def run_limited(*args: str | os.PathLike, cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None,
                timeout: float = GUARD_SECONDS, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`python -m xltool ARGS` under the guards. Fails the calling test on a hang, on running out
    of memory (the child dies or raises MemoryError) or on a traceback in its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    try:
        proc = subprocess.run([sys.executable, "-m", "xltool", *map(str, args)], cwd=cwd, env=full_env,
                              input=stdin, capture_output=True, timeout=timeout, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"xltool {' '.join(map(str, args))} ran past the {timeout:.0f} s guard") from e
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err, f"traceback from xltool {' '.join(map(str, args))}:\n{err}"
    assert "MemoryError" not in out + err, f"out of memory: xltool {' '.join(map(str, args))}"
    assert proc.returncode >= 0, f"xltool {' '.join(map(str, args))} killed by signal {-proc.returncode}"
    proc.stdout, proc.stderr = out, err
    return proc


def snapshot(folder: str | os.PathLike) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under a folder (symlinks not followed), to prove
    that a run changed nothing outside its output."""
    out = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            out[os.path.relpath(p, folder)] = (st.st_size, st.st_mtime_ns)
    return out
