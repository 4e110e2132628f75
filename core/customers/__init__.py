"""客户管理: customers, contacts, follow-ups, plans and the public pool (a core built-in plugin)."""
