"""`xltool archive`: pack the closed round into one zip with SHA-256 sums, or re-check an
archive. A thin layer over xltool.round.archiving."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from xltool.commands.common import handle_errors, in_round, json_option, print_json
from xltool.errors import UsageError

SHOWN_DIFFERENCES = 50


@click.command("archive")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="归档文件（.zip）；默认为“归档/”中以年度、汇总单位和日期命名的文件。")
@click.option("--check", "check_file", type=click.Path(dir_okay=False),
              help="核对一个归档文件：每个文件与其中的归档清单比对，不解压到磁盘。")
@click.option("--sha256", "expected", help="与 --check 一起用：登记的归档文件 SHA-256（归档时打印的值）。")
@json_option
@handle_errors
@in_round()
def archive(output: str | None, check_file: str | None, expected: str | None, as_json: bool, rnd) -> None:
    """把结束的一轮打包归档（含 SHA-256 清单，不含签名密钥），或核对归档。

    \b
    打包：round.toml、名单、下发/、发件箱/（含发送记录）、
    收到/（全部报表、附件和收取记录）、批注/（含审核结果.json）、
    确认记录.json、汇总/、报告/、导入/。签名密钥、隐藏文件和临时文件
    不打包。打印归档文件本身的 SHA-256（也写在旁边的 .sha256 文件中），
    请登记在归档台账上：归档内的清单只能发现单个文件被改，
    登记的 SHA-256 才能发现整个归档被换。

    \b
    例：xltool archive                         （在本轮文件夹中）
        xltool archive --check 归档/2022年度_某某区人民政府_20230201.zip --sha256 3f5a…
    """
    from xltool.round.archiving import check, pack

    if check_file is None:
        if expected is not None:
            raise UsageError("--sha256 只与 --check 一起使用。")
        if rnd is None:
            raise UsageError("请在 xltool init 建立的本轮文件夹中运行（或用 --round 指定），才能打包归档。")
        packed = pack(rnd, Path(output) if output else None)
        if as_json:
            print_json(packed.to_json())
        else:
            for item in packed.skipped:
                click.echo(f"提示：{item['path']}：{item['reason']}。", err=True)
            click.echo(f"已归档 {packed.members} 个文件到 {packed.file}（{packed.size} 字节）。")
            click.echo(f"SHA-256：{packed.sha256}")
            shown = os.path.relpath(packed.file) if packed.file.is_relative_to(Path.cwd()) else packed.file
            click.echo(f"请把这个 SHA-256 登记在归档台账上（也已写入 {packed.sum_file.name}）；"
                       f"核对：xltool archive --check {shown} --sha256 {packed.sha256}")
        return
    if output is not None:
        raise UsageError("-o 用于打包；核对归档（--check）时不写任何文件。")
    target = Path(check_file)
    if not target.exists() and rnd is not None and (rnd.archives / target).is_file():
        target = rnd.archives / target  # named as it lies in the round's 归档/
    result = check(target, expected)
    if as_json:
        print_json(result.to_json())
    else:
        _say(result)
    sys.exit(0 if result.ok else 1)


def _say(result) -> None:
    facts = result.round
    who = (facts.get("coordinator") or {}).get("name", "") if isinstance(facts.get("coordinator"), dict) else ""
    click.echo(f"归档文件：{result.file}（{facts.get('year', '?')}年度 {who}，归档于 {result.created or '未知时间'}）")
    click.echo(f"SHA-256：{result.sha256}" + ("（与登记一致）" if result.expected == result.sha256 else ""))
    if result.ok:
        click.echo(f"核对无误：清单中的 {result.members} 个文件都在，内容未被改动。")
        return
    for d in result.differences[:SHOWN_DIFFERENCES]:
        click.echo(f"不一致：{d.message}")
    if len(result.differences) > SHOWN_DIFFERENCES:
        click.echo(f"……另有 {len(result.differences) - SHOWN_DIFFERENCES} 处（用 --json 查看全部）")
    click.echo(f"共 {len(result.differences)} 处不一致：归档已被改动，请以登记的原件为准。")
