"""The report as PDF: the DOCX converted by LibreOffice, then checked for missing glyphs.

LibreOffice runs headless, one per core, each with its own profile folder (parallel runs and a
user's open office never collide); each converts a batch of documents per start (starting it
costs seconds), and is killed with its process group if it hangs. The official fonts are
mapped to free ones by templates/report/fonts.conf. A PDF is accepted only when every font is
embedded (pdffonts, once per batch) and every character of the report comes back out of it
(pdftotext, every document): a character no installed font has would be drawn as an empty box
(tofu) and is missing from the text."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xltool.errors import UsageError
from xltool.resources import template_text
from xltool.util import atomic_write, find_soffice, progress

BATCH = 200  # documents per LibreOffice start at most (a worker starts again for more)
POLL_SECONDS = 0.1
SECONDS_PER_DOCUMENT = 30
NO_SOFFICE = ("生成 PDF 需要 LibreOffice，本机没有找到 soffice。请安装 LibreOffice 与中文字体"
              "（Debian/Ubuntu：apt-get install libreoffice-writer fonts-noto-cjk），"
              "或改为输出 .docx，用 WPS、Word 或 LibreOffice 打开后另存为 PDF。")


class PdfError(UsageError):
    """The PDF could not be made, or would show boxes for missing characters (exit status 2)."""


@dataclass(frozen=True)
class PdfJob:
    docx: bytes
    target: Path
    texts: tuple[str, ...]  # what the pages must show


def require_soffice() -> str:
    soffice = find_soffice()
    if soffice is None:
        raise PdfError(NO_SOFFICE)
    return soffice


def _run(args: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run in its own process group; on timeout end the whole group (soffice forks)."""
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(args, proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise PdfError(f"LibreOffice 转换 PDF 超时（{timeout:.0f} 秒），已停止。") from None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _profile(folder: Path) -> dict[str, str]:
    """A LibreOffice profile folder of its own, with the font mapping beside it: the environment
    to start soffice with."""
    folder.mkdir(parents=True, exist_ok=True)
    fontconfig = folder / "fonts.conf"  # a real file for fontconfig, wherever the package is
    fontconfig.write_text(template_text("report", "fonts.conf"), encoding="utf-8")
    return dict(os.environ, FONTCONFIG_FILE=str(fontconfig))


def _command(soffice: str, profile: Path, outdir: Path, docx_files: list[Path]) -> list[str]:
    return [soffice, f"-env:UserInstallation={(profile / 'user').as_uri()}", "--headless", "--norestore",
            "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "pdf", "--outdir", str(outdir),
            *map(str, docx_files)]


def _failed(docx_files: list[Path], outdir: Path, returncode: int | None, said: bytes) -> PdfError | None:
    missing = [f.name for f in docx_files if not (outdir / f"{f.stem}.pdf").is_file()]
    if returncode == 0 and not missing:
        return None
    detail = said.decode(errors="replace").strip()[-500:]
    return PdfError(f"LibreOffice 未能把报告转换为 PDF（{', '.join(missing) or returncode}）：{detail}")


def convert(docx_files: list[Path], outdir: Path) -> None:
    """docx → pdf with one LibreOffice start, into outdir (same stems): LibreOffice's own batch
    conversion, which the benchmarks time as the floor."""
    soffice = require_soffice()
    with tempfile.TemporaryDirectory(prefix="xltool-lo-profile-") as profile:
        env = _profile(Path(profile))
        done = _run(_command(soffice, Path(profile), outdir, docx_files),
                    timeout=60 + SECONDS_PER_DOCUMENT * len(docx_files), env=env)
    problem = _failed(docx_files, outdir, done.returncode, done.stderr or done.stdout)
    if problem:
        raise problem


@dataclass
class _Start:
    """One LibreOffice start converting a batch, in a worker's own profile."""

    proc: subprocess.Popen
    batch: list[Path]
    timeout: float
    log: Any  # stdout and stderr, in a file: a pipe nobody reads would stall LibreOffice
    began: float = field(default_factory=time.monotonic)

    @property
    def late(self) -> bool:
        return time.monotonic() > self.began + self.timeout

    def end(self) -> bytes:
        """Stop what is left of it (soffice forks: its whole group); what it said."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.seek(0)
        said = self.log.read()
        self.log.close()
        return bytes(said)


def batches(docx_files: list[Path], workers: int) -> list[list[Path]]:
    """The documents split for the workers: an equal share each, at most BATCH a start."""
    size = max(1, min(BATCH, -(-len(docx_files) // max(1, workers))))
    return [docx_files[i:i + size] for i in range(0, len(docx_files), size)]


def convert_parallel(docx_files: list[Path], outdir: Path, workers: int | None = None,
                     label: str = "PDF") -> list[list[Path]]:
    """docx → pdf on every core: one LibreOffice per worker, each in its own profile folder (kept
    for its later starts), each converting a batch of documents in one start. A progress bar
    counts the PDFs as they appear. Returns the batches, as converted."""
    soffice = require_soffice()
    workers = max(1, min(workers or os.cpu_count() or 1, len(docx_files)))
    todo = batches(docx_files, workers)
    plan = list(todo)
    with tempfile.TemporaryDirectory(prefix="xltool-lo-") as tmp:
        profiles = [Path(tmp) / f"worker-{i}" for i in range(workers)]
        envs = [_profile(p) for p in profiles]
        running: dict[int, _Start] = {}
        try:
            for _ in progress(_converted(soffice, todo, outdir, profiles, envs, running), len(docx_files), label):
                pass
        finally:
            for start in running.values():
                start.end()
    return plan


def _converted(soffice: str, todo: list[list[Path]], outdir: Path, profiles: list[Path],
               envs: list[dict[str, str]], running: dict[int, _Start]) -> Iterator[None]:
    """Keep every worker busy until every batch is converted; one item per PDF that appeared."""
    seen = 0
    done = 0
    while todo or running:
        for slot in range(len(profiles)):
            if slot not in running and todo:
                batch = todo.pop(0)
                log = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by _Start.end, whatever happens
                proc = subprocess.Popen(_command(soffice, profiles[slot], outdir, batch), stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                        env=envs[slot])
                running[slot] = _Start(proc, batch, 60 + SECONDS_PER_DOCUMENT * len(batch), log)
        time.sleep(POLL_SECONDS)
        for slot, start in list(running.items()):
            code = start.proc.poll()
            if code is None and not start.late:
                continue
            del running[slot]
            said = start.end()
            if code is None:
                raise PdfError(f"LibreOffice 转换 PDF 超时（{len(start.batch)} 份报告超过 "
                               f"{start.timeout:.0f} 秒），已停止。")
            problem = _failed(start.batch, outdir, code, said)
            if problem:
                raise problem
            done += len(start.batch)
        now = done + sum(1 for s in running.values() for f in s.batch if (outdir / f"{f.stem}.pdf").is_file())
        for _ in range(max(0, now - seen)):
            yield None
        seen = max(seen, now)


def _tool(name: str, *args: str) -> str | None:
    """Output of a poppler tool, or None when poppler-utils is not installed."""
    path = shutil.which(name)
    if path is None:
        return None
    done = _run([path, *args], timeout=60)
    if done.returncode != 0:
        raise PdfError(f"{name} 无法读取生成的 PDF：{done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode("utf-8", errors="replace")


def fonts(pdf: Path) -> list[tuple[str, bool]] | None:
    """(font name, embedded) for every font of a PDF, from pdffonts."""
    out = _tool("pdffonts", str(pdf))
    if out is None:
        return None
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 7:
            rows.append((parts[0], parts[-5] == "yes"))
    return rows


def _characters(text: str) -> set[str]:
    return {c for c in unicodedata.normalize("NFKC", text) if not c.isspace()}


def _poppler() -> bool:
    if shutil.which("pdffonts") and shutil.which("pdftotext"):
        return True
    print("提示：未安装 poppler-utils（pdffonts、pdftotext），未检查 PDF 是否缺字。", file=sys.stderr)
    return False


def check_fonts(pdf: Path) -> None:
    """Every font of the PDF embedded."""
    loose = [name for name, embedded in fonts(pdf) or [] if not embedded]
    if loose:
        raise PdfError(f"PDF 中有字体未嵌入（{'、'.join(loose)}），在其他电脑上可能显示不正常。")


def check_glyphs(pdf: Path, texts: tuple[str, ...]) -> None:
    """No character of the report lost: one no font has is drawn as a box and missing from the text."""
    extracted = _tool("pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-") or ""  # -raw keeps a hyphen at a line end
    lost = sorted(_characters("".join(texts)) - _characters(extracted))
    if lost:
        shown = "".join(lost[:20])
        raise PdfError(f"PDF 中有 {len(lost)} 个字符没有字形，会显示为方框：{shown}。"
                       "请安装包含这些字的中文字体（如 fonts-noto-cjk），或修改报表中的这些字。")


def check(pdf: Path, texts: tuple[str, ...]) -> None:
    """Every font embedded, and no character of the report lost (drawn as a box)."""
    if _poppler():
        check_fonts(pdf)
        check_glyphs(pdf, texts)


def write_pdfs(jobs: list[PdfJob], workers: int | None = None) -> None:
    """Convert on every core (one LibreOffice start per worker and batch), check, and write each
    PDF atomically, all of them or none. The fonts are checked once per batch (one start embeds
    the same fonts the same way), the glyphs of every document."""
    if not jobs:
        return
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    with tempfile.TemporaryDirectory(prefix="xltool-pdf-") as tmp:
        work = Path(tmp)
        sources = []
        for i, job in enumerate(jobs):
            source = work / f"report-{i}.docx"
            source.write_bytes(job.docx)
            sources.append(source)
        converted = convert_parallel(sources, work, workers)
        pdfs = [work / f"{source.stem}.pdf" for source in sources]
        if _poppler():
            firsts = {work / f"{batch[0].stem}.pdf" for batch in converted}

            def checked(i: int) -> None:
                if pdfs[i] in firsts:
                    check_fonts(pdfs[i])
                check_glyphs(pdfs[i], jobs[i].texts)

            with ThreadPoolExecutor(workers) as pool:  # each check is a poppler process
                list(pool.map(checked, range(len(jobs))))
        for pdf, job in zip(pdfs, jobs):
            atomic_write(job.target, pdf.read_bytes())
