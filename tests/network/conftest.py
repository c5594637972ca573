"""The browser fixtures (Chromium via Playwright, the customer's site, the rep's dashboard, the
visitor's page) for the network tests; each test module brings its own `live_server`."""

from tests.browser.conftest import browser, customer, page, rep_page, visitor  # noqa: F401
from tests.browser.test_calls import customer_site  # noqa: F401
