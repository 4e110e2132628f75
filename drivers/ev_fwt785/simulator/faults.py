"""Fault switches for the simulated box (each real-modem fault in the reference list).

Set attributes on `SimBox.faults` in a test; one-shot faults (reboot, unplug, garbage, a URC
split across reads) are methods on `SimBox`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Faults:
    urc_mid_reply: bool = False  # a URC between a reply's information lines and its final code
    chunk_size: int | None = None  # hand the host at most this many bytes per read (URCs split)
    force_echo: bool = False  # echo stays on whatever ATE0 says
    missing_final: set[str] = field(default_factory=set)  # e.g. {"+CPIN"}: reply without the OK
    cme_transient: dict[int, int] = field(default_factory=dict)  # {14: 2}: next 2 SIM commands fail
    no_carrier_on_dial: bool = False  # ATD answered by a final NO CARRIER
    false_active_at_ringback: bool = False  # "active" reported when the far end starts ringing
    announcement_answers: bool = False  # unreachable calls are "answered" by a network announcement
    reject_not_propagated: bool = False  # a callee reject never reaches us; call stays up until ATH
    slow_cfun_s: float = 0.0  # AT+CFUN=1 replies only after this much virtual time
    registration_denied: bool = False  # network denies registration (stat 3)
    prompt_finished_lost: bool = False  # the "prompt finished" URC never comes
    drop_urcs: bool = False  # call-state URCs are not sent at all (polling-only modem)
