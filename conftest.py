"""Repository-wide pytest settings: a hung test fails instead of hanging the run.

Every test gets ``timeout`` seconds (see ``[tool.pytest.ini_options]``); tests marked ``slow``
(local models, wheel builds) get fifteen minutes.
"""

from __future__ import annotations

import pytest

SLOW_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))
