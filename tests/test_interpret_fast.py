"""The interpreter's fast paths give exactly what the slow ones gave."""

import unicodedata

import pytest

from xltool.published.interpret import nfkc

TEXTS = [
    "",
    "总体情况",
    "本年度，本机关认真贯彻落实《条例》：（一）主动公开；（二）依申请公开！",
    "　一、总体情况",
    "收到申请１２３件，办结率１００％……",
    "２０２３年１月１日",
    "Ａ\u0301，ｅ\u0301",  # a full-width letter with a combining accent: composed as NFKC does
    "，\u0301",  # a combining mark after a full-width comma: not composed with what it became
    "⼀、⼆",  # Kangxi radicals: left to NFKC itself
    "㈠总体情况，①②",
    "～－／．",
    "\u1100\u1161，\u11a8",  # Hangul jamo around a full-width comma
]


@pytest.mark.parametrize("text", TEXTS)
def test_nfkc_is_unicodes_nfkc(text):
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_nfkc_of_every_character_beside_full_width_punctuation():
    for code in range(0x20, 0x3100):
        text = f"，{chr(code)}：{chr(code)}（"
        assert nfkc(text) == unicodedata.normalize("NFKC", text), hex(code)
