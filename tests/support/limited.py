"""Run an xltool command the way a hostile input would meet it: in its own process, with a
memory ceiling and a wall-clock guard. The guard is the test's, not a budget in the product:
a finding never depends on the machine's load, but a hang or a blow-up must fail the test."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GUARD_SECONDS = 30
MEMORY_BYTES = 1 << 30  # 1 GiB resident at the peak; the address-space ceiling leaves room for what
# the interpreter maps without using (shared libraries, arenas), so only a real blow-up reaches it


def _limit_memory() -> None:  # runs in the child before exec
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES + (512 << 20), MEMORY_BYTES + (512 << 20)))


def run_limited(*args: str | os.PathLike, cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None,
                timeout: float = GUARD_SECONDS, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`python -m xltool ARGS` under the guards. Fails the calling test on a hang, on a peak
    resident memory over 1 GiB (measured by the kernel for this child alone), on running out of
    the address-space ceiling (the child dies or raises MemoryError) or on a traceback."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    shown = " ".join(map(str, args))
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f, tempfile.TemporaryFile() as in_f:
        in_f.write(stdin or b"")
        in_f.seek(0)
        proc = subprocess.Popen([sys.executable, "-m", "xltool", *map(str, args)], cwd=cwd, env=full_env,
                                stdin=in_f, stdout=out_f, stderr=err_f, preexec_fn=_limit_memory)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise AssertionError(f"xltool {shown} ran past the {timeout:.0f} s guard")
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read().decode("utf-8", "replace"), err_f.read().decode("utf-8", "replace")
    peak = usage.ru_maxrss * 1024  # kilobytes on Linux
    assert "Traceback" not in out + err, f"traceback from xltool {shown}:\n{err}"
    assert "MemoryError" not in out + err, f"out of memory: xltool {shown}"
    assert proc.returncode >= 0, f"xltool {shown} killed by signal {-proc.returncode}"
    assert peak < MEMORY_BYTES, f"xltool {shown} peaked at {peak >> 20} MiB resident"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


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


def hold_lock(folder: str | os.PathLike) -> subprocess.Popen:
    """Another process holding an output folder's lock, as a concurrent run would; returns once
    the lock is held. Kill it (SIGKILL is fine: the lock dies with the process)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom xltool.util import output_lock\n"
         "with output_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)\n", str(folder)],
        stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])))
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"locked"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
