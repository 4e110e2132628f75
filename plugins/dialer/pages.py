PAGE_ROUTES: list = []
