"""The files xltool reads at run time: form specs, report, mail and page templates, the fonts
configuration and the demo's samples.

Their sources are the repository's top-level `templates/` and `samples/`; the build maps them
into the package as `xltool.templates` and `xltool.samples` (pyproject.toml's package-dir), so
an editable install and an installed wheel read the very same files, through importlib.resources.
A file that should be there and is not, or cannot be read, is a broken installation, and is
named as such — never mistaken for an unsupported year or an unknown form.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING

from jinja2 import BaseLoader, Environment, TemplateNotFound

from xltool.errors import ResourceError

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

TEMPLATES = "xltool.templates"
SAMPLES = "xltool.samples"
REINSTALL = "请重新安装 xltool（pip install --force-reinstall xltool）。"


def _display(package: str, parts: tuple[str, ...]) -> str:
    return "/".join((*package.split("."), *parts))


def folder(package: str, *parts: str) -> Traversable:
    """A folder shipped inside the package, e.g. folder(TEMPLATES, "report")."""
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise ResourceError(f"xltool 安装不完整：缺少随程序发布的文件夹 {_display(package, ())}。{REINSTALL}") from None
    target = root.joinpath(*parts)
    if not target.is_dir():
        raise ResourceError(f"xltool 安装不完整：缺少随程序发布的文件夹 {_display(package, parts)}。{REINSTALL}")
    return target


def read_bytes(package: str, *parts: str) -> bytes:
    where = _display(package, parts)
    target = folder(package, *parts[:-1]).joinpath(parts[-1])
    try:
        return target.read_bytes()
    except FileNotFoundError:
        raise ResourceError(f"xltool 安装不完整：缺少程序文件 {where}。{REINSTALL}") from None
    except OSError as e:
        raise ResourceError(f"无法读取程序文件 {where}：{e.strerror or e}。{REINSTALL}") from None


def read_text(package: str, *parts: str) -> str:
    try:
        return read_bytes(package, *parts).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ResourceError(f"程序文件 {_display(package, parts)} 已损坏（不是 UTF-8 文本）。{REINSTALL}") from None


def template_text(*parts: str) -> str:
    """A file under templates/, e.g. template_text("report", "fonts.conf")."""
    return read_text(TEMPLATES, *parts)


def template_display(*parts: str) -> str:
    """How a message names a file under templates/."""
    return _display(TEMPLATES, parts)


class TemplateLoader(BaseLoader):
    """Jinja2 templates read from a folder under templates/, wherever the package is installed."""

    def __init__(self, *parts: str):
        self.parts = parts

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        if "/" in template or "\\" in template or template.startswith("."):
            raise TemplateNotFound(template)
        return template_text(*self.parts, template), None, lambda: True
