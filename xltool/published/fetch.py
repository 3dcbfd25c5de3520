"""Web addresses fetched with a total time-out and a size limit, and lists of addresses.

Every response is hostile: a server that accepts and never answers, or answers a byte at a time,
is given up at the time-out (the request runs in a worker thread whose connection is shut when
the time is up); at most 5 redirects, followed by hand so every hop is checked to be http(s); a
body over the limit is refused as it streams. Many government sites answer programs with a
JavaScript challenge (HTTP 412, or a page of scripts and no text) or load the article by script:
that is `site-refused`, and the way out is a page saved from a browser."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from importlib import metadata

from xltool.published.document import DocumentError
from xltool.published.encoding import decode
from xltool.util import NotRegularFile, read_regular

MAX_REDIRECTS = 5
CHUNK = 65536
MAX_LIST_BYTES = 1 << 20  # a --url-list file
MAX_URLS = 10_000
REDIRECTS = (301, 302, 303, 307, 308)
REFUSING = (401, 403, 407, 412, 429, 451)  # the site refuses a program; a browser may be let in
SAVE_FROM_BROWSER = "请用浏览器打开该网页，另存为 .html 或 .mhtml 文件，再导入保存的文件。"


def _user_agent() -> str:
    try:
        version = metadata.version("xltool")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"xltool/{version} (government information disclosure annual report checker)"


def _refused(what: str) -> DocumentError:
    """site-refused: what the site did; the way out (a page saved from a browser) is the
    catalogue's fix, which the finding appends."""
    return DocumentError("site-refused", f"网站拒绝了程序访问（{what}）。")


def _ascii_url(url: str) -> str:
    """An address as typed (Chinese in the path, a Chinese domain) in the form HTTP needs."""
    parts = urllib.parse.urlsplit(url.strip())
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise DocumentError("file-unreadable", f"网址中的域名无效：{url}") from None
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host:
        netloc = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    safe = "/%:@!$&'()*+,;=-._~"
    return urllib.parse.urlunsplit((parts.scheme.lower(), netloc, urllib.parse.quote(parts.path, safe=safe),
                                    urllib.parse.quote(parts.query, safe=safe + "?"), ""))


def check_url(url: str) -> str:
    """The address, or a DocumentError when it is not an http(s) address."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise DocumentError("file-unreadable", f"只能读取 http:// 或 https:// 开头的网址，不能读取：{url[:200]}")
    return _ascii_url(url)


class _Connections:
    """The connections a request opens, so they can be shut when the time is up."""

    def __init__(self) -> None:
        self.open: list[http.client.HTTPConnection] = []
        self.lock = threading.Lock()
        self.closed = False

    def factory(self, cls):
        def make(*args, **kwargs):
            conn = cls(*args, **kwargs)
            with self.lock:
                self.open.append(conn)
            return conn
        return make

    def shut(self) -> None:
        with self.lock:
            self.closed = True
            for conn in self.open:
                sock = conn.sock
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx reaches the caller as an HTTPError, followed by hand


def _opener(connections: _Connections) -> urllib.request.OpenerDirector:
    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(connections.factory(http.client.HTTPConnection), req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(connections.factory(http.client.HTTPSConnection), req, context=self._context)

    return urllib.request.build_opener(Http, Https, _NoRedirect)


class _Response:
    def __init__(self, status: int, headers, body: bytes, url: str):
        self.status, self.headers, self.body, self.url = status, headers, body, url


def _read_body(resp, max_bytes: int, deadline: float, connections: _Connections) -> bytes:
    length = resp.headers.get("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise _too_large(max_bytes)
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline or connections.closed:
            raise TimeoutError
        chunk = resp.read1(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return _decompressed(b"".join(chunks), resp.headers.get("Content-Encoding", ""), max_bytes)


def _decompressed(body: bytes, coding: str, max_bytes: int) -> bytes:
    coding = coding.strip().lower()
    if coding not in ("gzip", "x-gzip", "deflate"):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in coding else zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error:
        raise DocumentError("file-unreadable", "网站返回的压缩内容已损坏，无法读取。") from None
    if len(out) > max_bytes:
        raise _too_large(max_bytes)
    return out


def _too_large(max_bytes: int) -> DocumentError:
    return DocumentError("file-too-large", f"网页过大（超过 {max_bytes >> 20} MB 的上限），不像是一份年度报告。")


def _request(url: str, max_bytes: int, deadline: float, connections: _Connections) -> _Response:
    request = urllib.request.Request(url, headers={
        "User-Agent": _user_agent(), "Accept": "text/html,application/xhtml+xml,application/pdf,*/*;q=0.8",
        "Accept-Language": "zh-CN,zh;q=0.9", "Accept-Encoding": "gzip, deflate"})
    timeout = max(0.1, deadline - time.monotonic())
    try:
        resp = _opener(connections).open(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()  # a refusal or a redirect: its status and headers are all that is used
        return _Response(e.code, e.headers, b"", url)
    with resp:
        return _Response(resp.status, resp.headers, _read_body(resp, max_bytes, deadline, connections), resp.url)


def _in_time(url: str, max_bytes: int, deadline: float) -> _Response:
    """One request, given up at the deadline whatever the server does."""
    connections = _Connections()
    outcome: list = []

    def work() -> None:
        try:
            outcome.append(_request(url, max_bytes, deadline, connections))
        except BaseException as e:
            outcome.append(e)

    worker = threading.Thread(target=work, name="xltool-fetch", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        connections.shut()
        worker.join(1.0)
    if not outcome or isinstance(outcome[0], TimeoutError) or connections.closed:
        raise DocumentError("file-unreadable", f"网站在规定时间内没有完整答复，已放弃：{url}")
    if isinstance(outcome[0], BaseException):
        raise _explained(outcome[0], url)
    return outcome[0]


def _explained(error: BaseException, url: str) -> DocumentError:
    if isinstance(error, DocumentError):
        return error
    reason = getattr(error, "reason", error)
    if isinstance(reason, socket.gaierror):
        return DocumentError("file-unreadable", f"找不到这个网站（域名无法解析）：{url}")
    if isinstance(reason, ssl.SSLError):
        return DocumentError("file-unreadable", f"网站的安全证书无法验证，未读取：{url}。{SAVE_FROM_BROWSER}")
    if isinstance(reason, ConnectionRefusedError):
        return DocumentError("file-unreadable", f"网站拒绝连接：{url}")
    if isinstance(reason, TimeoutError):
        return DocumentError("file-unreadable", f"网站在规定时间内没有完整答复，已放弃：{url}")
    if isinstance(error, http.client.HTTPException | urllib.error.URLError | OSError | ValueError):
        return DocumentError("file-unreadable", f"无法读取网址 {url}：网站的答复不合规范或连接中断。")
    return DocumentError("file-unreadable", f"无法读取网址 {url}。")


def fetch(url: str, *, timeout: float, max_bytes: int) -> tuple[bytes, str, str]:
    """(the body, its Content-Type, the address after redirects) of an http(s) address, within
    `timeout` seconds in all and `max_bytes` of body; else a DocumentError: site-refused (a
    refusal or a JavaScript challenge), file-too-large, file-unreadable (with the status)."""
    from xltool.published.html import scripted_page

    deadline = time.monotonic() + timeout
    current = check_url(url)
    seen = [current]
    for _ in range(MAX_REDIRECTS + 1):
        resp = _in_time(current, max_bytes, deadline)
        if resp.status in REDIRECTS:
            location = resp.headers.get("Location")
            if not location:
                raise DocumentError("file-unreadable", f"网站要求跳转（HTTP {resp.status}）却没有给出新地址：{current}")
            current = check_url(urllib.parse.urljoin(current, location.strip()))
            if current in seen:
                raise DocumentError("file-unreadable", f"网址陷入循环跳转（{' → '.join(seen[-3:])} → {current}），无法读取。")
            seen.append(current)
            continue
        content_type = resp.headers.get("Content-Type", "") or ""
        if resp.status in REFUSING:
            if resp.status == 412:
                raise _refused("HTTP 412，网站用脚本验证访问者")
            raise _refused(f"HTTP {resp.status}")
        if not 200 <= resp.status < 300:
            raise DocumentError("file-unreadable", f"网站没有给出网页（HTTP {resp.status}）：{current}")
        if ("html" in content_type.lower() or not content_type) and scripted_page(resp.body):
            raise _refused("网页正文由脚本加载或被脚本验证挡住，程序读不到正文")
        return resp.body, content_type, resp.url or current
    raise DocumentError("file-unreadable", f"网址跳转次数过多（超过 {MAX_REDIRECTS} 次），无法读取：{url}")


def urls_from_file(path: str) -> list[str]:
    """The addresses of a --url-list file: one a line, blank lines and # comments skipped,
    UTF-8 or GB18030; a line that is not an http(s) address is refused naming its line."""
    try:
        data, _ = read_regular(path, MAX_LIST_BYTES)
    except NotRegularFile:
        raise DocumentError("file-unreadable", f"网址清单 {path} 不是普通文件，未读取。") from None
    except OSError as e:
        raise DocumentError("file-unreadable", f"无法读取网址清单 {path}：{e.strerror or e}。") from None
    if data is None:
        raise DocumentError("file-too-large", f"网址清单 {path} 过大（超过 {MAX_LIST_BYTES >> 10} KB）。")
    urls: list[str] = []
    for n, line in enumerate(decode(data)[0].splitlines(), 1):
        line = line.strip().strip("\ufeff")
        if not line or line.startswith("#"):
            continue
        try:
            check_url(line)
        except DocumentError:
            raise DocumentError("file-unreadable", f"网址清单 {path} 第{n}行不是 http:// 或 https:// 网址：{line[:200]}") from None
        urls.append(line)
        if len(urls) > MAX_URLS:
            raise DocumentError("file-too-large", f"网址清单 {path} 的网址过多（超过 {MAX_URLS} 个）。")
    return urls
