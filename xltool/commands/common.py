"""Shared pieces of the click commands: error handling, common options, output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from xltool.form.fill import FillError
from xltool.form.returns import FormError
from xltool.form.specfile import SpecError
from xltool.office.container import ContainerError
from xltool.resources import ResourceError
from xltool.round.roster import RosterError
from xltool.util import UsageError


def fail(message: str, status: int) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(status)


def handle_errors(fn: Callable) -> Callable:
    """Typed errors become a message and an exit status; never a traceback on bad input."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (UsageError, RosterError, ResourceError, SpecError) as e:
            fail(str(e), 2)
        except (ContainerError, FormError, FillError) as e:
            fail(e.message, 1)
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


STATUS_TEXT = {"ok": "通过", "warnings": "有警告", "errors": "有错误", "missing": "未提交"}
