"""The sans-io AT parser: classification (AOSP atchannel rules) and chunking invariance."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ev_fwt785.parser import AtParser, Command, Echo, Kind, Prompt, Response, Unsolicited


def drain(p: AtParser) -> list[object]:
    out = []
    while (e := p.next_event()) is not None:
        out.append(e)
    return out


def test_singleline_with_urc_mid_reply() -> None:
    p = AtParser()
    p.begin(Command("AT+CSQ", Kind.SINGLELINE, "+CSQ:"))
    p.feed(b'\r\n+CSQ: 23,99\r\n\r\n+QIND: "csq",20,99\r\n\r\nOK\r\n')
    assert drain(p) == [Unsolicited('+QIND: "csq",20,99'), Response("AT+CSQ", ("+CSQ: 23,99",), "OK")]


def test_dial_finals_only_end_a_dial() -> None:
    p = AtParser()
    p.begin(Command("AT+CSQ", Kind.SINGLELINE, "+CSQ:"))
    p.feed(b"\r\nNO CARRIER\r\n+CSQ: 5,99\r\nOK\r\n")
    assert drain(p) == [Unsolicited("NO CARRIER"), Response("AT+CSQ", ("+CSQ: 5,99",), "OK")]
    p.begin(Command("ATD123;", Kind.DIAL))
    p.feed(b"\r\nBUSY\r\n")
    assert drain(p) == [Response("ATD123;", (), "BUSY")]


def test_echo_numeric_and_errors() -> None:
    p = AtParser()
    p.begin(Command("AT+CGSN", Kind.NUMERIC))
    p.feed(b"AT+CGSN\r\r\n869710030012345\r\n\r\nOK\r\n")
    assert drain(p) == [Echo("AT+CGSN"), Response("AT+CGSN", ("869710030012345",), "OK")]
    p.begin(Command("AT+CPIN?", Kind.SINGLELINE, "+CPIN:"))
    p.feed(b"\r\n+CME ERROR: SIM not inserted\r\n")
    (resp,) = drain(p)
    assert isinstance(resp, Response) and not resp.ok and resp.final == "+CME ERROR: SIM not inserted"


def test_prompt_raw_and_two_line_urc() -> None:
    p = AtParser()
    p.begin(Command("AT+CMGS=20", Kind.PROMPT, "+CMGS:"))
    p.feed(b"\r\n> ")
    assert drain(p) == [Prompt("AT+CMGS=20")]
    p.feed(b"\r\n+CMGS: 7\r\n\r\nOK\r\n")
    assert drain(p) == [Response("AT+CMGS=20", ("+CMGS: 7",), "OK")]
    p.begin(Command("AT+QFREAD=1,10", Kind.RAW))
    p.feed(b"\r\nCONNECT 6\r\nOK\r\n\x00\xff\r\nOK\r\n")
    assert drain(p) == [Response("AT+QFREAD=1,10", (), "OK", b"OK\r\n\x00\xff")]
    p.feed(b"\r\n+CMT: ,24\r\n0791683108200005F0040D91\r\n")
    assert drain(p) == [Unsolicited("+CMT: ,24", "0791683108200005F0040D91")]


def test_abandon_returns_partial() -> None:
    p = AtParser()
    p.begin(Command("AT+CPIN?", Kind.SINGLELINE, "+CPIN:"))
    p.feed(b"\r\n+CPIN: READY\r\n")
    assert drain(p) == []
    partial = p.abandon()
    assert partial is not None and partial.lines == ("+CPIN: READY",) and partial.final == ""
    p.feed(b"\r\nOK\r\n")
    assert drain(p) == [Unsolicited("OK")]


# ---------------------------------------------------------------- hypothesis: chunking invariance

URCS = [
    '+QIND: "csq",17,99',
    "+CREG: 1",
    "RING",
    '+CMTI: "SM",3',
    "+QPSND: 0",
    "^DSCI: 1,0,3,0,13800138000,129",
]
COMMANDS = [
    (Command("AT+CSQ", Kind.SINGLELINE, "+CSQ:"), ["+CSQ: 23,99"], "OK"),
    (Command("AT+CGSN", Kind.NUMERIC), ["869710030012345"], "OK"),
    (
        Command("AT+CLCC", Kind.MULTILINE, "+CLCC:"),
        ['+CLCC: 1,0,0,0,0,"1",129', '+CLCC: 2,0,3,0,0,"2",129'],
        "OK",
    ),
    (Command("ATD13800138000;", Kind.DIAL), [], "NO CARRIER"),
    (Command("AT+CPIN?", Kind.SINGLELINE, "+CPIN:"), [], "+CME ERROR: 10"),
    (Command("ATE0", Kind.NO_RESULT), [], "OK"),
]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Command], bytes, list[object]]:
    """A transcript of commands with URCs interleaved anywhere between lines, and the expected items."""
    cmds, stream, expected = [], bytearray(), []
    for _ in range(draw(st.integers(1, 6))):
        cmd, lines, final = draw(st.sampled_from(COMMANDS))
        cmds.append(cmd)
        for ln in [*lines, final]:
            for u in draw(st.lists(st.sampled_from(URCS), max_size=2)):
                stream += b"\r\n" + u.encode() + b"\r\n"
                expected.append(Unsolicited(u))
            stream += b"\r\n" + ln.encode() + b"\r\n"
        expected.append(Response(cmd.text, tuple(lines), final))
    return cmds, bytes(stream), expected


def run(cmds: list[Command], chunks: list[bytes]) -> list[object]:
    p = AtParser()
    todo = list(cmds)
    p.begin(todo.pop(0))
    out: list[object] = []
    for chunk in chunks:
        p.feed(chunk)
        while (e := p.next_event()) is not None:
            out.append(e)
            if isinstance(e, Response) and todo:
                p.begin(todo.pop(0))
    return out


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.lists(st.integers(1, 40), max_size=200))
def test_same_output_whatever_the_chunking(
    scenario: tuple[list[Command], bytes, list[object]], cuts: list[int]
) -> None:
    cmds, stream, expected = scenario
    chunks, pos = [], 0
    for n in cuts:
        if pos >= len(stream):
            break
        chunks.append(stream[pos : pos + n])
        pos += n
    chunks.append(stream[pos:])
    assert run(cmds, [stream]) == expected
    assert run(cmds, chunks) == expected
    assert run(cmds, [bytes([b]) for b in stream]) == expected
