"""销售管理: opportunities, needs, funnel and sales analysis."""
