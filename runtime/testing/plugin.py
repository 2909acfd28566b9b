"""pytest plugin (entry point `durable`, active whenever durable is installed).

* puts durable's `workers` shim on `sys.path`, so `from workers import ...` works in tests;
* provides the `durable_env` fixture: an in-process runtime for the project, on a store in the
  test's `tmp_path`, with a virtual clock (see `durable.testing`);
* registers the `durable_config(path, env=None)` marker.

Which config `durable_env` uses, first match wins:

1. `@pytest.mark.durable_config("path/to/wrangler.toml", env="staging")` on the test (or its
   class or module); a relative path is relative to the test file's folder;
2. a `durable_config` fixture you define (in a conftest.py, say) returning such a path;
3. wrangler's search: wrangler.toml / wrangler.jsonc / wrangler.json in the test file's folder
   or a parent, then in the working directory or a parent.

`durable_env` is an async fixture on the *function-scoped* event loop (pytest-asyncio's default),
so it works in `asyncio_mode = "auto"` and in strict mode (mark tests `@pytest.mark.asyncio`).
A test using it must run on that same loop: do not give such tests a wider `loop_scope`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from durable.runtime.worker.loader import ensure_shim_on_path

if TYPE_CHECKING:
    from .env import DurableEnv

ensure_shim_on_path()

try:
    import pytest_asyncio
except ImportError:  # the fixture says what to install; other tests must not break
    pytest_asyncio = None  # type: ignore[assignment]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "durable_config(path, env=None): the wrangler config durable_env uses for this test "
        "(relative to the test file)",
    )


@pytest.fixture
def durable_config() -> Path | str | None:
    """The config `durable_env` uses: None searches for it. Override to choose one."""
    return None


def config_for(request: pytest.FixtureRequest, override: Path | str | None) -> tuple[Path, Any]:
    """(config path, env name) for the requesting test; see the module docstring."""
    from durable.runtime.config import find_config
    from durable.runtime.errors import ConfigError

    here = request.path.parent
    marker = request.node.get_closest_marker("durable_config")
    if marker is not None:
        if len(marker.args) != 1:
            raise pytest.UsageError("@pytest.mark.durable_config takes one path")
        return (here / marker.args[0]).resolve(), marker.kwargs.get("env")
    if override is not None:
        return (here / override).resolve(), None
    try:
        return find_config(here), None
    except ConfigError:
        return find_config(Path.cwd()), None


if pytest_asyncio is not None:

    @pytest_asyncio.fixture(loop_scope="function")
    async def durable_env(
        request: pytest.FixtureRequest, tmp_path: Path, durable_config: Path | str | None
    ) -> AsyncIterator[DurableEnv]:
        """The project's runtime, in process, on a temporary store, with a virtual clock."""
        from .env import open_env

        path, env_name = config_for(request, durable_config)
        async with open_env(path, persist_dir=tmp_path / ".durable", env=env_name) as env:
            yield env

else:

    @pytest.fixture
    def durable_env() -> None:
        """Needs pytest-asyncio."""
        pytest.fail("durable_env needs pytest-asyncio: pip install pytest-asyncio", pytrace=False)
