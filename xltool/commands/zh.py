"""The command line in Chinese: click's own messages, help layout, metavars and exit statuses.

click marks its messages for gettext but chooses the language from the user's locale, which on
a coordinator's machine is anything. `install()` gives click's modules a translation table
instead, and help text is wrapped by display width with no space put between two Chinese
phrases that a line break in a docstring separated. `localize(group)` then sets, on every
command, Chinese metavars, the usage line and the command's exit statuses (PRODUCT.md's table).
tests/test_cli_zh.py checks that every message click marks for translation has one here.
"""

from __future__ import annotations

import gettext as _gettext
import re
import sys
import unicodedata
from datetime import date, datetime
from typing import Any

import click
import click.formatting

# click's message → ours, with the same {placeholders}. Singular and plural (ngettext) both map.
MESSAGES: dict[str, str] = {
    # core
    "Aborted!": "已中止。",
    "deprecated": "已弃用",
    "Missing command.": "缺少命令。",
    "Options": "选项",
    "Positional arguments": "参数",
    "Commands": "命令",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": "提示：命令 {name!r} 已弃用。{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}": "提示：{param_type} {name!r} 已弃用。{extra_message}",
    "Got unexpected extra argument ({args})": "多出了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多出了参数（{args}）",
    "Value must be an iterable.": "值必须是一组数据。",
    "Could not determine name for option with declarations {decls!r}": "无法确定选项 {decls!r} 的名称",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? "
    "Did you mean to pass '--{name}'?": "没有定义选项却给出了名称（{name}）。是否应为参数，或写作 '--{name}'？",
    "env var: {var}": "环境变量：{var}",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.": "参数只能有一个名称，却给出了 {length} 个：{decls}。",
    "(dynamic)": "（动态）",
    "Name '{name}' defined twice": "名称“{name}”定义了两次",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给出了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，却给出了 {len} 个。",
    "Boolean option {decl!r} cannot use the same flag for true/false.": "开关选项 {decl!r} 不能用同一写法表示开和关。",
    # decorators
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不询问，直接确认。",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "Show the version and exit.": "显示版本号并退出。",
    "Show this message and exit.": "显示本帮助并退出。",
    # exceptions
    "Did you mean {possibility}?": "您是否要输入 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（您是否要输入其中之一：{possibilities}？）",
    "Missing argument": "缺少参数",
    "unknown error": "未知错误",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Missing option": "缺少选项",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "用“{command} {option}”查看帮助。",
    "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "Invalid value: {message}": "值无效：{message}",
    "Missing {param_type}": "缺少{param_type}",
    # formatting, parser
    "Usage:": "用法：",
    "Invalid start character for option ({option})": "选项的开头字符无效（{option}）",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    # shell completion, terminal
    "Couldn't detect Bash version, shell completion is not supported.": "无法识别 Bash 版本，不支持命令补全。",
    "Shell completion is not supported for Bash versions older than 4.4.": "Bash 4.4 以下的版本不支持命令补全。",
    "Press any key to continue...": "按任意键继续……",
    "d": "天",
    "Repeat for confirmation": "再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Unknown color {colour!r}": "未知颜色 {colour!r}",
    "Error: invalid input": "错误：输入无效",
    "{editor}: Editing failed": "{editor}：编辑失败",
    "{editor}: Editing failed: {e}": "{editor}：编辑失败：{e}",
    "Windows error: {error}": "Windows 错误：{error}",
    "Unknown standard stream '{name}'": "未知的标准流“{name}”",
    # types
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} is not {choice}.": "{value!r} 无效，只能是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 无效，只能是 {choices} 之一。",
    "Choice({choices})": "选项（{choices}）",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats}。",
    "{value} is not in the range {range}.": "{value} 不在 {range} 范围内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的开关值，可用：{states}",
    "{len_type} values are required, but {len_value} was given.": "需要 {len_type} 个值，却给出了 {len_value} 个。",
    "{len_type} values are required, but {len_value} were given.": "需要 {len_type} 个值，却给出了 {len_value} 个。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，这里需要文件夹。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是文件夹，这里需要文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 无法读取。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 无法写入。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
}

# What each command's exit status means (PRODUCT.md, "Exit status").
_DONE_OR_MISUSED = ("完成", None, "用法错误，或名单有误")
EXIT_STATUS: dict[str, tuple[str, str | None, str]] = {
    "xltool": ("完成", "见各命令的说明（xltool 命令 --help）", "用法错误"),
    "verify": ("没有报表有错误（可以有警告）", "有报表有错误或无法读取", "用法错误：未知选项、路径不存在、密钥文件有误"),
    "merge": ("汇总结果已写出（未计入的报表和未提交的单位会列出，不算失败）",
              "用了 --strict，且有报表未计入或有单位未提交", "用法错误，或没有可汇总的报表"),
    "report": ("报告已写出", "报表有错误且未给 --allow-errors；或用了 --strict，且有部分印成“未填报”",
               "用法错误：后缀或格式未知、模板有误、找不到输入"),
    "read": ("完成", "文件无法读取", "用法错误"),
    "fill": ("已写出", "工作簿无法读取或数值无效；或有工作簿没有对应的数据（其余已写出）",
             "用法错误：路径不存在、输出会覆盖输入、数据缺少或重复单位代码"),
    "collect": ("完成", "有邮件处理失败（其余已完成，重新运行会接着做）", "用法错误，或名单有误"),
    "send": ("完成", "有单位的邮件未能发出（其余已完成，重新运行会接着发）", "用法错误，或名单有误"),
    "remind": ("完成", "有单位的邮件未能发出，或名单中没有其邮箱（其余已完成，重新运行会接着发）", "用法错误，或名单有误"),
    "archive": ("归档已写出；或 --check 核对无误", "--check：有文件与清单不一致，或归档文件与登记的 SHA-256 不一致",
                "用法错误：不在本轮文件夹中、不是 zip 文件、归档中没有清单"),
    "import": ("全部报告已导入（可以有审核意见）", "有报告未能导入（表格缺失、无法读取、网站拒绝），或填报表未能生成",
               "用法错误：找不到文件、没有给出输出文件夹、输出会覆盖输入"),
    "init": ("本轮工作文件夹已建立", None, "用法错误：名单有误、截止日期已过、文件夹已有 round.toml"),
}

# Metavars: by parameter name first, then by type; arguments by name.
_METAVAR_BY_NAME = {"year": "年度", "timeout": "秒数", "agency_code": "代码", "agency_name": "名称", "sender": "地址",
                    "smtp": "服务器", "contact": "联系方式", "formats": "格式", "roster": "名单"}
_ARGUMENTS = {"agency_code": "AGENCY_CODE", "documents": "报告", "finding": "FINDING_CODE[@KEY]", "workbook": "工作簿", "file": "文件", "paths": "路径", "path": "路径", "folder": "文件夹",
              "source": "来源", "input_path": "输入"}

_NO_LINE_START = set("，。、；：？！）」』”’》〉】…,.;:?!)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _translate(message: str) -> str:
    return MESSAGES.get(message, message)


def _ntranslate(singular: str, plural: str, n: int) -> str:
    return _translate(singular if n == 1 else plural)


def char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def display_width(text: str) -> int:
    """Columns a terminal gives the text: Chinese characters take two."""
    return sum(char_width(c) for c in _ANSI.sub("", text))


def _joined(lines: list[str]) -> str:
    """One paragraph from the lines of a docstring: the line break becomes a space, except
    between two Chinese characters."""
    out = ""
    for line in (line.strip() for line in lines):
        if out and line and not (char_width(out[-1]) == 2 and char_width(line[0]) == 2):
            out += " "
        out += line
    return out


def _fill(text: str, width: int, first: str, rest: str) -> str:
    """Wrap by display width; a line may break between any two Chinese characters, and never
    before closing punctuation (the character before it moves down with it)."""
    lines: list[list[tuple[str, str]]] = [[]]  # per line: (separator, token)
    indents = [first]
    used = display_width(first)
    space = False
    for token in re.findall(r"\s+|[!-~]+|.", text):
        if token.isspace():
            space = bool(lines[-1])
            continue
        line = lines[-1]
        sep = " " if space else ""
        if line and used + display_width(sep + token) > width:
            carried: list[tuple[str, str]] = []
            while token[0] in _NO_LINE_START and len(line) > 1 and (not carried or carried[0][1][0] in _NO_LINE_START):
                carried.insert(0, line.pop())
            lines.append([("", t) for _, t in carried])
            indents.append(rest)
            used = display_width(rest) + sum(display_width(t) for _, t in carried)
            sep = " " if space and carried else ""
        lines[-1].append((sep, token))
        used += display_width(sep + token)
        space = False
    return "\n".join((indent + "".join(s + t for s, t in line)).rstrip() for indent, line in zip(indents, lines))


def wrap_text(text: str, width: int = 78, initial_indent: str = "", subsequent_indent: str = "",
              preserve_paragraphs: bool = False) -> str:
    """click.formatting.wrap_text for Chinese text (same parameters, same ``\\b`` blocks)."""
    text = text.expandtabs()
    if not preserve_paragraphs:
        return _fill(_joined(text.splitlines()), width, initial_indent, subsequent_indent)
    out = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = block.splitlines()
        indent = " " * (len(lines[0]) - len(lines[0].lstrip()))
        if lines[0].strip() == "\b":
            out.append("\n".join(initial_indent + indent + line[len(indent):] if line.startswith(indent)
                                 else initial_indent + line for line in lines[1:]))
        else:
            out.append(_fill(_joined(lines), width, initial_indent + indent, subsequent_indent + indent))
    return "\n\n".join(out)


class HelpFormatter(click.HelpFormatter):
    """Headings and the usage line with Chinese punctuation."""

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)


class Context(click.Context):
    formatter_class = HelpFormatter


class Date(click.ParamType):
    """A calendar date typed as YYYY-MM-DD."""

    name = "日期"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return datetime.strptime(str(value).strip(), "%Y-%m-%d").date()
        except ValueError:
            self.fail(f"“{value}”不是有效的日期，请写成 YYYY-MM-DD，如 2022-01-15。", param, ctx)


def install() -> None:
    """Chinese for click's messages and a Chinese-aware wrap in its help pages."""
    for name, module in list(sys.modules.items()):
        if name == "click" or name.startswith("click."):
            if getattr(module, "_", None) is _gettext.gettext:
                module._ = _translate  # type: ignore[attr-defined]
            if getattr(module, "ngettext", None) is _gettext.ngettext:
                module.ngettext = _ntranslate  # type: ignore[attr-defined]
    click.formatting.wrap_text = wrap_text
    click.formatting.term_len = display_width  # type: ignore[assignment]
    click.exceptions.MissingParameter.format_message = _missing  # type: ignore[method-assign]
    click.INT.name, click.FLOAT.name = "整数", "数"  # named in "… is not a valid {name}"


def _missing(self: click.exceptions.MissingParameter) -> str:
    """"缺少选项 '--year'。" — click's own ends with an ASCII full stop after the name."""
    hint = self.param_hint or (self.param.get_error_hint(self.ctx) if self.param and self.ctx else "")
    if not isinstance(hint, str):
        hint = " / ".join(hint)
    kind = self.param_type or (self.param.param_type_name if self.param else "parameter")
    extra = self.param.type.get_missing_message(param=self.param, ctx=self.ctx) if self.param else None
    text = f"缺少{'选项' if kind == 'option' else '参数'} {hint}。".replace(" 。", "。")
    return text + (self.message or "") + (f"\n{extra}" if extra else "")


def _metavar(param: click.Parameter) -> str:
    if isinstance(param, click.Argument):
        name = _ARGUMENTS.get(param.name or "", "值")
        return f"{name}..." if param.nargs == -1 else name
    if param.name in _METAVAR_BY_NAME:
        return _METAVAR_BY_NAME[param.name]
    kind = param.type
    if isinstance(kind, click.Path):
        return "文件" if not kind.dir_okay else "文件夹" if not kind.file_okay else "路径"
    if isinstance(kind, Date):
        return "YYYY-MM-DD"
    if isinstance(kind, click.types.IntParamType):
        return "整数"
    return "文本"


def _exit_status(name: str) -> str:
    zero, one, two = EXIT_STATUS.get(name, _DONE_OR_MISUSED)
    rows = [f"  0  {zero}", *([f"  1  {one}"] if one else []), f"  2  {two}"]
    return "\b\n退出状态：\n" + "\n".join(rows)


def localize(command: click.Command, name: str = "xltool") -> None:
    """Chinese metavars, usage line and exit statuses on a command and all its subcommands."""
    command.context_class = Context
    command.options_metavar = "[选项]"
    command.epilog = _exit_status(name)
    for param in command.params:
        if isinstance(param, click.Option) and (param.is_flag or param.count):
            continue
        if param.metavar is None or isinstance(param, click.Argument):
            param.metavar = _metavar(param)
    if isinstance(command, click.Group):
        command.subcommand_metavar = "命令 [参数]..."
        for sub_name, sub in command.commands.items():
            localize(sub, sub_name)
