"""Server addresses given on the command line (`imap://…`, `smtp://…`): parsed once, refused when
they carry a password (PRODUCT.md: secrets never from a command-line argument, where the shell
history and the process list keep them), and never echoed with one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from xltool.errors import UsageError

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_LOOSE_PASSWORD = re.compile(r"([^/?#:@]+:[^@]*)@")


def _userinfo(url: str) -> tuple[str, str, str] | None:
    """(scheme://, user:password, the rest after '@'), or None when the address has no user part.
    The user part ends at the last '@' before the path: a password may hold an '@' of its own."""
    m = _SCHEME.match(url)
    if m is None:
        return None
    rest = url[m.end():]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        info = authority.rpartition("@")[0]
        return m[0], info, rest[len(info) + 1:]
    loose = _LOOSE_PASSWORD.match(rest)  # a password holding '/', '?' or '#': never shown either
    return (m[0], loose[1], rest[loose.end():]) if loose else None


def redact(url: str) -> str:
    """The address as it may be shown: `imaps://user:***@host/…`, whatever follows the user."""
    parts = _userinfo(url)
    if parts is None or ":" not in parts[1]:
        return url
    scheme, info, rest = parts
    return f"{scheme}{info.split(':', 1)[0]}:***@{rest}"


def refuse_password(url: str, option: str, env: str) -> None:
    """UsageError (exit 2, before any connection) when the address holds a password."""
    parts = _userinfo(url)
    if parts is not None and ":" in parts[1]:
        raise UsageError(f"地址 {redact(url)} 中写了密码：密码（授权码）不能写在命令行上，"
                         f"命令行会留在历史记录和进程列表中。请去掉地址中的“:密码”，改用 {option} 指定的文件，"
                         f"或环境变量 {env} 提供。")


@dataclass(frozen=True)
class Server:
    scheme: str
    host: str
    port: int
    user: str
    path: str


def parse_server(url: str, schemes: dict[str, int], what: str, shape: str) -> Server:
    """`scheme://user@host:port/path` with a default port per scheme; UsageError in Chinese for
    anything else, the address shown without its password."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a port that is not a number, or outside 0-65535; a malformed IPv6 host
        raise UsageError(f"{what} 地址 {redact(url)} 中的端口无效：端口应为 1 到 65535 之间的数字。"
                         f"地址应为 {shape}。") from None
    if scheme not in schemes or not host:
        raise UsageError(f"{what} 地址应为 {shape}，而不是“{redact(url)}”。")
    if port == 0:
        raise UsageError(f"{what} 地址 {redact(url)} 中的端口无效：端口应为 1 到 65535 之间的数字。")
    return Server(scheme, host, port or schemes[scheme], unquote(parts.username or ""), parts.path)
