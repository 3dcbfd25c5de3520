"""Shared pieces of the click commands: error handling, common options, output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from xltool.errors import XltoolError


def fail(message: str, status: int) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(status)


def handle_errors(fn: Callable) -> Callable:
    """Every user-facing error becomes its message and its exit status; never a traceback on bad input."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except XltoolError as e:
            fail(e.message, e.exit_status)
        except KeyboardInterrupt:
            fail("已中断。", 130)

    return wrapper


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def key_option(fn: Callable) -> Callable:
    return click.option("--key-file", type=click.Path(dir_okay=False),
                        help="签名密钥文件（也可用环境变量 XLTOOL_KEY）。")(fn)


def json_option(fn: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="以 JSON 输出到标准输出。")(fn)




def in_round(fill: Callable[[Any, dict[str, Any]], None] | None = None) -> Callable[[Callable], Callable]:
    """The option --round, and the round's defaults (PRODUCT.md, "The round folder").

    Inside a round folder (named with --round, or found in the current folder or its parents)
    the command says on standard error which round it uses, `fill(round, params)` sets the
    parameters the user left unset, and the command gets the round as `rnd` (None outside one).
    Goes right under @handle_errors, so that a broken round.toml is a message, not a traceback."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, round_dir: str | None = None, **kwargs):
            from xltool.round.folder import find_round

            rnd = find_round(round_dir)
            if rnd is not None:
                click.echo(f"本轮工作文件夹：{rnd.root}", err=True)
                if fill is not None:
                    fill(rnd, kwargs)
            return fn(*args, rnd=rnd, **kwargs)

        return click.option("--round", "round_dir", type=click.Path(file_okay=False),
                            help="本轮工作文件夹（含 round.toml，由 xltool init 创建）；默认在当前文件夹及其上级中查找。")(wrapper)

    return decorate


def unset(params: dict[str, Any], name: str, value: Any) -> None:
    """Give a parameter the round's value when the user did not give one (a flag still wins)."""
    if params.get(name) in (None, ()) and value is not None:
        params[name] = tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else \
            value if isinstance(value, (int, bool)) else str(value)
