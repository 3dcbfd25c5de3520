"""The report as PDF: the DOCX converted by LibreOffice, then checked for missing glyphs.

LibreOffice runs headless with its own profile folder (parallel runs and a user's open office
never collide), converts a batch of documents per start (starting it costs seconds), and is
killed with its process group if it hangs. The official fonts are mapped to free ones by
templates/report/fonts.conf. A PDF is accepted only when every font is embedded and every
character of the report comes back out of it (pdftotext): a character no installed font has
would be drawn as an empty box (tofu) and is missing from the text."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from xltool.errors import UsageError
from xltool.resources import template_text
from xltool.util import atomic_write, find_soffice, progress

BATCH = 20  # documents per LibreOffice start
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


def convert(docx_files: list[Path], outdir: Path) -> None:
    """docx → pdf with one LibreOffice start, into outdir (same stems)."""
    soffice = require_soffice()
    fonts = template_text("report", "fonts.conf")
    with tempfile.TemporaryDirectory(prefix="xltool-lo-profile-") as profile:
        fontconfig = Path(profile) / "fonts.conf"  # a real file for fontconfig, wherever the package is
        fontconfig.write_text(fonts, encoding="utf-8")
        env = dict(os.environ, FONTCONFIG_FILE=str(fontconfig))
        done = _run([soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
                     "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "pdf", "--outdir", str(outdir),
                     *map(str, docx_files)], timeout=60 + SECONDS_PER_DOCUMENT * len(docx_files), env=env)
    missing = [f.name for f in docx_files if not (outdir / f"{f.stem}.pdf").is_file()]
    if done.returncode != 0 or missing:
        detail = (done.stderr or done.stdout).decode(errors="replace").strip()[-500:]
        raise PdfError(f"LibreOffice 未能把报告转换为 PDF（{', '.join(missing) or done.returncode}）：{detail}")


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


def check(pdf: Path, texts: tuple[str, ...]) -> None:
    """Every font embedded, and no character of the report lost (drawn as a box)."""
    listed = fonts(pdf)
    extracted = _tool("pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-")  # -raw keeps a hyphen at a line end
    if listed is None or extracted is None:
        print("提示：未安装 poppler-utils（pdffonts、pdftotext），未检查 PDF 是否缺字。", file=sys.stderr)
        return
    loose = [name for name, embedded in listed if not embedded]
    if loose:
        raise PdfError(f"PDF 中有字体未嵌入（{'、'.join(loose)}），在其他电脑上可能显示不正常。")
    lost = sorted(_characters("".join(texts)) - _characters(extracted))
    if lost:
        shown = "".join(lost[:20])
        raise PdfError(f"PDF 中有 {len(lost)} 个字符没有字形，会显示为方框：{shown}。"
                       "请安装包含这些字的中文字体（如 fonts-noto-cjk），或修改报表中的这些字。")


def write_pdfs(jobs: list[PdfJob]) -> None:
    """Convert, check and write each PDF atomically; a batch of documents per LibreOffice start."""
    starts = range(0, len(jobs), BATCH)
    for start in progress(starts, len(starts), "PDF"):
        chunk = jobs[start:start + BATCH]
        with tempfile.TemporaryDirectory(prefix="xltool-pdf-") as tmp:
            work = Path(tmp)
            sources = []
            for i, job in enumerate(chunk):
                source = work / f"report-{i}.docx"
                source.write_bytes(job.docx)
                sources.append(source)
            convert(sources, work)
            for source, job in zip(sources, chunk):
                pdf = work / f"{source.stem}.pdf"
                check(pdf, job.texts)
                atomic_write(job.target, pdf.read_bytes())
