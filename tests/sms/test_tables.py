"""The SMS app migrates with the others and its tables take rows."""

import datetime as dt

import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_tables_exist(db):
    from plugins.sms.tables import ALL_TABLES, SmsOptOut

    for table in ALL_TABLES:
        assert await table.count() == 0
    await SmsOptOut.insert(SmsOptOut(number="+8613800138000", created_at=dt.datetime.now(dt.UTC)))
    assert await SmsOptOut.count() == 1
