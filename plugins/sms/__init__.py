"""手机短信: send through the box or a gateway, bulk and scheduled, templates, logs."""
