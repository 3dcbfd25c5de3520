"""The signature over the agency's identity: an edited identity or another key's workbook."""

from __future__ import annotations

import hmac

from xltool.findings import finding
from xltool.form.writer import signature


def check(ctx):
    if not ctx.key:
        return
    ret = ctx.ret
    expected = signature(ctx.key, ret.spec, ret.year, ret.agency_code, ret.agency_name)
    found = ret.meta.get("signature", "")
    if not found:
        yield finding("signature-invalid", "工作簿没有签名：不是用本轮下发的填报表填写的，或签名被删除。")
    elif not hmac.compare_digest(found.lower(), expected):
        yield finding("signature-invalid", f"签名校验不通过：单位名称、代码或年度被改动过，或不是本轮下发的填报表"
                                           f"（工作簿中的单位：{ret.agency_name}，代码 {ret.agency_code}，{ret.year}年度）。")
