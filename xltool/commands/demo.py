"""`xltool demo`: the whole round on the bundled samples, in a round folder, no server needed;
a command that runs the other commands, as a coordinator types them.

A district coordinating office starts a round (`xltool init`) and mails its 12 departments
their workbooks; they reply by mail — a forward, a zip, a corrected second version, a wrong
attachment, a message without one, an `.ods` instead of the workbook, and one department that
sends another's workbook filled with its own figures. Then, from the round folder and with no
repeated flag, the demo runs the commands a coordinator types: collect, verify, status, remind,
merge, confirm (a fee given to more decimals than 万元 needs, checked by phone), merge again,
report and archive. Nothing is sent: messages go to 发件箱/ as .eml files.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from xltool.resources import SAMPLES, folder, read_bytes
from xltool.round.dates import CST
from xltool.round.folder import NAME, load_round
from xltool.util import atomic_write, check_writable_dir

YEAR = 2021
COORDINATOR = ("11230100", "哈尔滨市阿城区人民政府")
SENDER = "阿城区政务公开办 <gkb@ac.example.gov.cn>"
MIXUP = ("11230112", "11230110")  # 营商环境建设监督局 replies with 卫生健康局's workbook, filled with its own figures
ODS = "11230109"  # 住房和城乡建设局 saved the workbook as .ods
CONFIRMED = ("11230107", "fee-unit-suspect", "经电话核实：收费 195345.6 元，折合 19.53456 万元，数字无误。")
# The coordinator's own report: its narrative and contacts, written into the round once.
OWN_REPORT = """
[report]
narrative = "正文.j2"
contact = { address = "哈尔滨市阿城区延川大街 1 号", postcode = "150300", phone = "0451-53761766", website = "http://www.hrbac.gov.cn/" }
"""
OWN_NARRATIVE = """{% block overview %}{{ year }}年，阿城区人民政府认真贯彻落实《中华人民共和国政府信息公开条例》，\
全区各部门本年新收政府信息公开申请{{ requests.new.total }}件，办结{{ requests.total.total }}件。{% endblock %}
{% block problems %}主要问题：个别部门主动公开内容更新不够及时。改进情况：建立每月检查、季度通报机制。{% endblock %}
{% block other %}本年度全区共发出收费通知{{ processing_fee.notices }}件，实际收取信息处理费{{ processing_fee.collected }}元。{% endblock %}
"""


def _command(echo: Callable[[str], None], rnd: Path, title: str, *args: str) -> int:
    """Run one xltool command in the round, as the coordinator would type it."""
    from xltool.cli import cli

    echo(f"\n{title}\n$ xltool {shlex.join(args)}")
    in_round = [] if args[0] == "init" else ["--round", str(rnd)]
    try:
        cli.main(list(args) + in_round, prog_name="xltool", standalone_mode=False)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def _sample_returns(dist: Path) -> dict[str, bytes]:
    """What the departments send back: the workbook each received, filled in by its clerk
    (the mix-up: one department fills another's workbook with its own figures)."""
    from xltool.form.fill import fill_bytes
    from xltool.mail.send import find_workbooks

    blank = {code: w.path.read_bytes() for code, w in find_workbooks(dist).by_code.items()}
    out = {}
    for entry in sorted(folder(SAMPLES, "returns").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        sample = json.loads(entry.read_text(encoding="utf-8"), parse_float=Decimal)
        code = sample["agency"]["code"]
        if code == ODS:
            continue
        workbook = blank[MIXUP[1]] if code == MIXUP[0] else blank[code]
        out[code] = fill_bytes(workbook, sample["values"])
    out.pop(MIXUP[1], None)  # the department whose workbook was taken sends nothing itself
    return out


def run_demo(out: Path, echo: Callable[[str], None]) -> int:
    from xltool.mail.samplebox import build_sample_mailbox
    from xltool.round.roster import load_roster

    out = out.absolute()
    first = not (out / NAME).exists()
    echo(f"示例：{COORDINATOR[1]}向 12 个部门收集{YEAR}年度政府信息公开工作年度报告。本轮工作文件夹：{out}")
    if first:
        check_writable_dir(out)
        roster = out / "名单.csv"  # the coordinator's own roster file; init copies it into the round
        atomic_write(roster, read_bytes(SAMPLES, "roster.csv"))
        deadline = (datetime.now(CST) + timedelta(days=30)).date().isoformat()
        status = _command(echo, out, "⓪ 建立本轮工作文件夹（round.toml 记下年度、名单、截止日期、密钥等，之后的命令不必重复）",
                          "init", str(out), "--year", str(YEAR), "--roster", str(roster), "--coordinator-code",
                          COORDINATOR[0], "--coordinator-name", COORDINATOR[1], "--from", SENDER,
                          "--deadline", deadline)
        if status:
            return status
        with open(out / NAME, "a", encoding="utf-8") as f:
            f.write(OWN_REPORT)
        atomic_write(out / "正文.j2", OWN_NARRATIVE.encode("utf-8"))
    rnd = load_round(out)
    steps: list[tuple[str, Sequence[str]]] = [
        ("① 生成填报表：每个部门一个加锁、签名的工作簿 → 下发/", ["generate"]),
        ("② 发送：演示只写成 .eml 文件 → 发件箱/（加 --smtp 即真正发送）", ["send"]),
    ]
    for title, args in steps:
        _command(echo, out, title, *args)

    mbox = out / "收件箱.mbox"
    if not mbox.exists():  # a second run collects the same mailbox again, and nothing twice
        assert rnd.roster is not None  # init copied it in
        notes = build_sample_mailbox(_sample_returns(rnd.dist), load_roster(rnd.roster), mbox, SENDER,
                                     mixups=dict([MIXUP]), ods=[ODS])
        echo(f"\n③ 各部门回复：{len(notes)} 封邮件 → {mbox.name}")
        for note in notes:
            echo(f"    {note}")
    code, finding, note = CONFIRMED
    for title, args in [
        ("④ 收集：按报表中的单位代码归档，核对发件人 → 收到/", ["collect", str(mbox)]),
        ("⑤ 审核：有问题的另存批注版 → 批注/，审核结果 → 批注/审核结果.json", ["verify"]),
        ("⑥ 进度：谁未报、谁的报表无法使用、谁错发了报表、谁有错", ["status", "--html", str(out / "报送进度.html")]),
        ("⑦ 催报：按各单位的情况写信（附空白表或批注版）→ 发件箱/", ["remind"]),
        ("⑧ 汇总：有错误或数字待确认的报表不计入", ["merge"]),
        (f"⑨ 确认：电话核实后，确认 {code} 的收费金额", ["confirm", code, finding, "--note", note, "--by", "演示"]),
        ("⑩ 再次汇总：已确认的报表计入", ["merge"]),
        ("⑪ 成文：汇总后的年度报告（HTML 供网站发布，DOCX 公文格式，Markdown 供审阅）→ 报告/", ["report"]),
        ("⑫ 归档：整轮材料打包，附 SHA-256 校验值 → 归档/", ["archive"]),
    ]:
        _command(echo, out, title, *args)
    echo(f"\n完成。全部结果在 {out}；进入该文件夹后可直接运行 xltool status、xltool merge 等命令，不必再给参数。")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_demo(Path(sys.argv[1] if len(sys.argv) > 1 else "xltool-demo"), print))
