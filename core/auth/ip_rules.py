"""IP 访问设置: when rules exist, only listed networks may sign in (users marked exempt may always)."""

from __future__ import annotations

import ipaddress

from core.auth.tables import IpRule


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(f"不是有效的 IP 或网段 / not an IP address or network: {text!r}") from exc


async def ip_allowed(ip: str) -> bool:
    rules = await IpRule.select(IpRule.cidr)
    if not rules:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in parse_cidr(rule["cidr"]) for rule in rules)
