"""`waihubao agent`: the 电话助手 on the salesperson's PC."""

from __future__ import annotations

import click


@click.command("agent", help="电话助手：在销售电脑上运行外呼引擎并连接服务器 / run the dialer next to the box(es)")
@click.option("--server", required=True, help="服务器地址 / server URL, e.g. https://crm.example.com")
@click.option("--token", required=True, help="API 令牌 / API token")
@click.option("--device", "devices", multiple=True, help="设备地址 / box URL (serial port or sim://NAME)")
def agent(server: str, token: str, devices: tuple[str, ...]) -> None:
    raise click.ClickException("电话助手尚未完成 / the agent is not finished yet")
