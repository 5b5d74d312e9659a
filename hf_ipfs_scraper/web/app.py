"""``create_app``: one FastAPI app over one archive, for ``hf-ipfs-scraper serve`` and for tests.

The app holds one read-only :class:`~hf_ipfs_scraper.catalog.Catalog`, opened when the server
starts (lifespan) and closed when it stops. Route handlers are plain ``def`` functions, so they
run on the server's worker threads and share it: the read-only ``StateStore`` runs each query
under its lock on one connection (``check_same_thread=False``), and block reads are independent
file reads. The block store and the search index are opened at startup, not on first use (``Catalog.store``
and ``Catalog.search_index`` are lazy, and two threads racing for one would each open one).

Routers are included in ``create_app``; a route takes the catalog as a ``CatalogDep`` parameter
(``Depends(get_catalog)``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Callable

from fastapi import Depends, FastAPI, Request

from ..catalog import Catalog
from ..errors import InvalidInputError, StoreError
from ..storage.remote import RemoteReader
from .headers import SecurityHeaders


def get_catalog(request: Request) -> Catalog:
    """The app's catalog (a FastAPI dependency: ``catalog: Annotated[Catalog, Depends(get_catalog)]``)."""
    catalog: Catalog = request.app.state.catalog
    return catalog


CatalogDep = Annotated[Catalog, Depends(get_catalog)]


def create_app(
    output_dir: Path, *, store_path: Path | None = None, gateway: bool = False,
    remote: Callable[[], RemoteReader] | None = None,
) -> FastAPI:
    """The app serving the archive in ``output_dir`` (block store: ``store_path``, default
    ``<output_dir>/ipfs``); ``gateway``: also the trustless gateway at ``/ipfs/`` (embedded store
    only); ``remote``: opens the daemon or cluster that holds the content instead of the store.
    Nothing is opened until the server starts it."""
    if gateway and remote is not None:
        raise InvalidInputError("the trustless gateway reads blocks from the embedded store; with a daemon, "
                                "use the daemon's own gateway (Kubo: http://127.0.0.1:8080/ipfs/<cid>)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reader = remote() if remote is not None else None
        catalog = Catalog(output_dir, store_path=store_path, content=reader)
        try:
            catalog.state  # noqa: B018 - open it now: an archive it cannot read fails the start, not a request
            if reader is None:
                catalog.store  # noqa: B018 - open it now, once, before any worker thread asks
            with contextlib.suppress(StoreError):  # no index yet: search routes say so when asked
                catalog.search_index  # noqa: B018 - the same, for the search index
            app.state.catalog = catalog
            yield
        finally:
            catalog.close()
            if reader is not None:
                reader.close()

    from . import api, gateway as trustless_gateway, hub, jobs, page  # imported here, not at the top: the routers import CatalogDep from this module

    app = FastAPI(
        title="hf-ipfs-scraper",
        summary="A Hugging Face Hub archive, served from its IPFS block store",
        lifespan=lifespan,
    )
    app.add_exception_handler(hub.HubApiError, hub.error_response)
    app.add_middleware(SecurityHeaders)  # a mirrored HTML or SVG file runs no script on this origin
    # Routers. Include new ones ABOVE the Hub router: its resolve routes
    # (``/{namespace}/{name}/resolve/...``) match broad paths, and the first matching route wins.
    app.include_router(page.router)
    app.include_router(api.router)
    app.include_router(jobs.router)
    if gateway:
        app.include_router(trustless_gateway.router)
    app.include_router(hub.router)
    return app
