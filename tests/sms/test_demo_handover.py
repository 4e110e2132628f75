"""Demo rows and 人员调换 (handover) of SMS templates."""

import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.db]


async def test_demo_templates_and_handover(make_user, actor_for):
    from plugins.sms import library, plugin
    from plugins.sms.demo import DEMO_TEMPLATES
    from plugins.sms.schemas import TemplateIn

    amy = await make_user("amy")
    bob = await make_user("bob")
    await plugin.demo_data(users={"amy": amy})
    shared = await library.listing(await actor_for(bob))
    assert sorted(t.name for t in shared) == sorted(name for name, _ in DEMO_TEMPLATES)
    await library.create(await actor_for(amy), TemplateIn(name="私人", body="您好"))
    moved = await plugin.handover(from_user_id=amy, to_user_id=bob, actor=await actor_for(bob))
    assert moved == {"sms_templates": 3}
    assert "私人" in {t.name for t in await library.listing(await actor_for(bob))}
