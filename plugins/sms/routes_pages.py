PAGE_HANDLERS: list = []
