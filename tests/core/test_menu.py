"""The top navigation groups each module's menu items under the module's title."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_modules_with_several_items_become_one_dropdown(make_user, client_for):
    amy = await make_user("amy", "sales")
    async with client_for(amy) as c:
        nav = (await c.get("/")).text.split('<nav class="main-nav">', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/customers" class="menu-title" aria-haspopup="true">客户管理 ▾</a>' in nav
    assert 'data-key="customers.pool"' in nav.split("客户管理 ▾", 1)[1].split("menu-group", 1)[0]


async def test_a_module_with_one_item_stays_a_plain_link(make_user, client_for):
    boss = await make_user("boss", "admin")
    async with client_for(boss) as c:
        nav = (await c.get("/")).text.split('<nav class="main-nav">', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/example" data-key="example">示例</a>' in nav
