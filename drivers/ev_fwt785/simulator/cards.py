"""SIM cards for the simulated box, and the carrier's per-SIM dialing limits."""

from __future__ import annotations

from dataclasses import dataclass, field

CARRIERS: dict[str, tuple[str, str]] = {
    "CMCC": ("CHINA MOBILE", "46000"),
    "CU": ("CHN-UNICOM", "46001"),
    "CT": ("CHN-CT", "46011"),
}


@dataclass
class CarrierLimits:
    """Dialing beyond these gets the SIM blocked by the carrier (calls then fail: NO CARRIER,
    CEER 8 "operator determined barring"). None = no limit."""

    max_calls_per_hour: int | None = None
    max_calls_per_day: int | None = None
    min_gap_s: float | None = None


@dataclass
class SimCard:
    carrier: str = "CMCC"
    iccid: str = "89860012345678901234"
    imsi: str = "460001234567890"
    number: str = "13800000001"
    rssi: int = 23
    present: bool = True
    denied: bool = False
    limits: CarrierLimits = field(default_factory=CarrierLimits)
    blocked: bool = False
    blocked_at: float | None = None
    dial_times: list[float] = field(default_factory=list)

    @property
    def operator_name(self) -> str:
        return CARRIERS.get(self.carrier, (self.carrier, "46000"))[0]

    @property
    def plmn(self) -> str:
        return CARRIERS.get(self.carrier, (self.carrier, self.imsi[:5]))[1]

    def register_dial(self, now: float) -> bool:
        """Record a dial attempt; return False (and block the SIM) if it breaks a limit."""
        if self.blocked:
            return False
        lim = self.limits
        last = self.dial_times[-1] if self.dial_times else None
        self.dial_times.append(now)
        hour = sum(1 for t in self.dial_times if now - t < 3600)
        day = sum(1 for t in self.dial_times if now - t < 86400)
        broke = (
            (lim.max_calls_per_hour is not None and hour > lim.max_calls_per_hour)
            or (lim.max_calls_per_day is not None and day > lim.max_calls_per_day)
            or (lim.min_gap_s is not None and last is not None and now - last < lim.min_gap_s)
        )
        if broke:
            self.blocked = True
            self.blocked_at = now
        return not broke


def default_cards(box_index: int = 0, slots: int = 5) -> list[SimCard]:
    """Five plausible Chinese SIMs per box: mixed carriers, distinct ICCID/IMSI/number/signal."""
    carriers = ["CMCC", "CU", "CT", "CMCC", "CU"]
    prefixes = ["138", "186", "189", "135", "156"]  # real mobile ranges of those carriers
    out = []
    for i in range(slots):
        c = carriers[i % len(carriers)]
        plmn = CARRIERS[c][1]
        k = box_index * 10 + i + 1
        out.append(
            SimCard(
                carrier=c,
                iccid=f"8986{plmn[3:]}{k:014d}",
                imsi=f"{plmn}{k:010d}",
                number=f"{prefixes[i % len(prefixes)]}0013{k:04d}",
                rssi=[25, 18, 12, 28, 8][i % 5],
            )
        )
    return out
