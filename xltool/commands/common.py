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


