"""Without the dialer in the licence its pages, API and background task are gone, and its data stays."""

from __future__ import annotations

import datetime as dt

import pytest

from core.licence import EDITION_MODULES, Edition
from plugins.dialer.tables import Dnc
from tests.conftest import install_licence

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_unlicensed_dialer_is_gone_and_its_data_stays(make_user, client_for):
    from litestar.testing import AsyncTestClient

    from core.auth import sessions
    from core.web.app import create_app

    uid = await make_user("lee", role="admin")
    await Dnc.insert(Dnc(e164="+8613800138000", created_at=dt.datetime.now(dt.UTC)))
    async with client_for(uid) as c:
        assert (await c.get("/api/v1/dialer/campaigns")).status_code == 200
    install_licence(modules=sorted(EDITION_MODULES[Edition.TEAM] - {"dialer"}))
    app = create_app(run_jobs=False, manage_engine=False)
    token, _csrf = await sessions.create(uid, "testclient", "pytest")
    async with AsyncTestClient(app=app) as c:
        c.cookies.set(sessions.COOKIE, token)
        assert (await c.get("/api/v1/dialer/campaigns")).status_code == 404
        assert (await c.get("/dialer")).status_code == 404
    assert await Dnc.exists().where(Dnc.e164 == "+8613800138000")
