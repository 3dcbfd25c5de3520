"""`xltool fill`: values typed into workbooks by canonical key — one workbook and one JSON file,
or a folder of workbooks and their data (a folder of JSON or a JSON lines file) matched by the
agency code inside each workbook. A thin command over `xltool.form.fill`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xltool.commands.common import handle_errors
from xltool.errors import UsageError
from xltool.util import atomic_write, refuse_overlap


@click.command()
@click.argument("workbook", type=click.Path(exists=True))
@click.option("--data", required=True, type=click.Path(exists=True),
              help="JSON：{指标键: 值}，或 read --json 的输出；填写文件夹时为 JSON 文件夹、JSON Lines 文件"
                   "（每行一个单位）或 JSON 数组，按单位代码（agency.code，或 \"code\" 字段）对应工作簿。")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="输出的工作簿；填写文件夹时为输出文件夹（文件名与输入相同）。")
@handle_errors
def fill(workbook: str, data: str, output: str) -> None:
    """把 JSON 中的数值按指标键写入工作簿的填报单元格：一个工作簿，或一个文件夹中的全部工作簿。

    \b
    填写文件夹时，每个工作簿按其中的单位代码（不看文件名）取对应的数据，写到输出
    文件夹，文件名不变；没有数据的工作簿逐个列出（退出状态 1），没有对应工作簿的
    数据也逐个列出。

    \b
    例：xltool fill 某某局.xlsx --data values.json -o 某某局-已填.xlsx
        xltool fill 下发/ --data 数据.jsonl -o 已填/
    """
    from xltool.form.fill import fill_bytes, fill_folder, values_from_payload
    from xltool.form.returndata import load_json

    if not Path(workbook).is_dir():
        if Path(data).is_dir():
            raise UsageError(f"--data {data} 是文件夹：填写一个工作簿时请给出一个 JSON 文件；"
                             "填写文件夹中的工作簿时，第一个参数给文件夹。")
        refuse_overlap(output, [workbook, data], output_is_dir=False)
        values = values_from_payload(load_json(data))
        atomic_write(output, fill_bytes(Path(workbook).read_bytes(), values))
        click.echo(f"已写入 {len(values)} 项，保存为 {output}")
        return
    if Path(output).suffix.lower() in (".xlsx", ".xlsm") and not Path(output).is_dir():
        raise UsageError(f"填写文件夹 {workbook} 时，-o 应为输出文件夹，而不是工作簿 {output}。")
    done = fill_folder(workbook, data, output)
    click.echo(f"已填写 {len(done.written)} 个工作簿，保存在 {output}")
    if done.without_data:
        click.echo(f"没有数据的工作簿（{len(done.without_data)} 个，未写出）：")
        for o in done.without_data:
            click.echo(f"  {Path(o.file).name}（单位代码 {o.code or '（空）'}）")
    if done.failed:
        click.echo(f"无法填写的工作簿（{len(done.failed)} 个）：")
        for o in done.failed:
            code = f"（单位代码 {o.code}）" if o.code else ""
            click.echo(f"  {Path(o.file).name}{code}：{o.problem}")
    if done.unused:
        click.echo(f"没有对应工作簿的数据（{len(done.unused)} 条）：")
        for d in done.unused:
            click.echo(f"  单位代码 {d.code}（{d.where}）")
    sys.exit(done.exit_status)
