"""The Kubo backend: a daemon's RPC API, through ``ipfshttpclient``.

``ipfshttpclient`` (0.8) does the requests, the multipart upload and the error mapping well, but
its ``connect()`` refuses every daemon newer than 0.8 (``VersionMismatch``), so :class:`KuboRemote`
constructs ``Client(addr)`` directly and checks the daemon with one ``version`` call. Every call
carries a timeout: a daemon asked for a block it lacks searches the network for it, forever.

A repo's DAG goes to the daemon as one CAR stream through ``dag/import`` (one request, whatever
the number of blocks; ``block/put`` per block took 2.0-2.5x as long, ``bench/bench_backends.py``),
then one ``pin/add`` names the pin: the daemon walks the DAG once (importing with ``pin-roots`` and
naming the pin afterwards walks it twice). The pinned root the daemon
reports must be ours: CIDs are decided here, and another answer means it did not store what we
made. ``ipfshttpclient`` 0.8 does have ``dag.imprt``, but asserts exactly one answer line, which
``pin-roots=false`` never gives: it is called streamed.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any, BinaryIO, Iterator
from urllib.parse import urlsplit

import ipfshttpclient
import requests
import urllib3
from ipfshttpclient import exceptions as rpc

from ..errors import BackendError, BackendUnavailableError, CodecError
from ..ipfs.car import CarReader
from ..ipfs.cid import CID
from . import _address
from ._pieces import PieceReader
from .remote import RemotePin, RemoteStat

# ipfshttpclient 0.8 passes urllib3 a ``strict`` argument that urllib3 2 warns about and urllib3 3
# removed (pyproject pins urllib3 < 3): the warning says nothing a user can act on.
warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)

DEFAULT_API = "/ip4/127.0.0.1/tcp/5001"
_HAS_TIMEOUT_S = 2  # a block the daemon holds is found in milliseconds
_PIN_BYTES_PER_S = 20e6  # a daemon walking a DAG it holds does far better; this only sets a timeout
_CHUNK = 1 << 20  # upload and download pieces (ipfshttpclient's default is 4 KiB)


def api_url(address: str) -> str:
    """An RPC address as an http(s) URL: ``/ip4/127.0.0.1/tcp/5001``, ``http://host:5001`` or
    ``host:5001``; :class:`ConfigError` for anything else (a path too: the RPC API is at the root)."""
    return _address.http_url(address, what="a Kubo RPC", port=5001)


def _client_addr(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    proto = "ip6" if ":" in host else "ip4" if re.fullmatch(r"[\d.]+", host) else "dns"
    return f"/{proto}/{host}/tcp/{parts.port}/{parts.scheme}"


class KuboRemote:
    """A Kubo daemon (or one that speaks its RPC API, such as the JavaScript IPFS node)."""

    def __init__(self, address: str = DEFAULT_API, *, timeout: float = 30.0) -> None:
        self.url = api_url(address)
        self.label = f"the IPFS daemon at {self.url}"
        self.timeout = timeout
        self._client = ipfshttpclient.Client(_client_addr(self.url), timeout=timeout, chunk_size=_CHUNK)
        self._count_lock = threading.Lock()
        self.requests = 0
        try:
            answer = self._call(self._client.version)
        except BaseException:
            self._client.close()
            raise
        self.version = str(answer.get("Version", "?"))
        # Kubo (0.26+) names pins (`name`, `pin ls --names`); the JavaScript node, which says
        # "ipfs-core" in its version, keeps a JSON `metadata` per pin instead
        self._js = "ipfs-core" in answer

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """One RPC request (counted in ``requests``), its errors as this library's: down or silent →
        unavailable, refused → error."""
        with self._count_lock:
            self.requests += 1
        try:
            yield
        except (rpc.ConnectionError, rpc.ProtocolError) as exc:
            raise BackendUnavailableError(f"{self.label} is not reachable ({_address.unreachable(exc)}); is the daemon running?") from None
        except rpc.TimeoutError:
            raise BackendUnavailableError(f"{self.label} did not answer within {self.timeout:g}s") from None
        except rpc.ErrorResponse as exc:
            raise BackendError(f"{self.label} refused: {exc}") from None
        except rpc.Error as exc:
            raise BackendError(f"{self.label}: {exc}") from None
        except requests.RequestException as exc:  # reading a body: ipfshttpclient maps only the request's errors
            if _timed_out(exc):
                raise BackendUnavailableError(f"{self.label} did not answer within {self.timeout:g}s") from None
            raise BackendUnavailableError(f"{self.label} broke off its answer ({_address.unreachable(exc)}); "
                                          "is the daemon running?") from None

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        with self._errors():
            return method(*args, **kwargs)

    # -- Remote ----------------------------------------------------------------------------------
    def pins(self) -> list[RemotePin]:
        answer = self._call(self._client.pin.ls, type="recursive", opts={"names": "true"})
        keys: Mapping[str, Any] = answer.get("Keys") or {}
        return [RemotePin(CID.parse(text), _pin_name(info)) for text, info in keys.items()]

    def has(self, cid: CID) -> bool:
        """``block/stat`` told to stay local (``offline``: Kubo answers at once) and to give up after
        a few seconds (``timeout``: the JavaScript node ignores ``offline``). The daemon's "not
        found" or "timed out" is a no; a daemon that does not answer at all is unavailable."""
        try:
            with self._errors():
                self._client.block.stat(str(cid), opts={"offline": "true", "timeout": f"{_HAS_TIMEOUT_S}s"})
        except BackendUnavailableError:
            raise
        except BackendError:
            return False
        return True

    def push(self, car_stream: BinaryIO, root: CID, name: str) -> None:
        """``dag/import`` storing the blocks, then one ``pin/add`` with the name: two requests, and
        the daemon walks the DAG once (``pin-roots`` would walk it, and naming the pin again).

        Between the two a daemon gc could take the unpinned blocks; the pin then fails, nothing
        is recorded, and the spool still holds them for the next run. The pin's timeout grows
        with the DAG (``pin/add`` answers only once it has walked it all)."""
        with self._errors():  # streamed: ipfshttpclient asserts one answer line, and this has none
            for _line in self._client.dag.imprt(car_stream, opts={"pin-roots": "false"}, stream=True):
                pass
        seconds = self.timeout + car_stream.tell() / _PIN_BYTES_PER_S
        answer = self._name_pin(root, name, seconds)
        pinned = [CID.parse(text) for text in (answer.get("Pins") or [])]
        if not any(same_content(cid, root) for cid in pinned):
            raise BackendError(f"{self.label} reports pinning {', '.join(map(str, pinned)) or 'nothing'} "
                               f"for the DAG whose root is {root}")

    def _name_pin(self, cid: CID, name: str, seconds: float) -> Mapping[str, Any]:
        """``pin/add`` with the pin's name: Kubo's ``name``, the JavaScript node's ``metadata``."""
        opts = {"metadata": json.dumps({"name": name})} if self._js else {"name": name}
        opts["timeout"] = f"{seconds:.0f}s"  # the daemon gives up (an error) before the client does
        answer: Mapping[str, Any] = self._call(self._client.pin.add, str(cid), opts=opts, timeout=seconds + 5)
        return answer

    def unpin(self, cid: CID) -> None:
        try:
            self._call(self._client.pin.rm, str(cid))
        except BackendError as exc:
            if "not pinned" not in str(exc):
                raise

    def cat(self, cid: CID, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        kwargs: dict[str, Any] = {"offset": offset} if offset else {}
        if length is not None:
            kwargs["length"] = length
        with self._errors():
            pieces = self._client.cat(str(cid), stream=True, **kwargs)
            yield from pieces

    def export_car(self, cid: CID, fileobj: BinaryIO) -> int:
        """``dag/export``, parsed as it is written: the count of blocks, and a CAR that reads."""
        blocks = 0
        try:
            with self._errors():
                pieces = self._client.dag.export(str(cid), stream=True)
                for _block in CarReader(PieceReader(pieces, fileobj)):  # type: ignore[arg-type]  # read() is enough
                    blocks += 1
        except CodecError as exc:
            raise BackendError(f"{self.label} exported a CAR of {cid} that does not read: {exc}") from None
        return blocks

    def stat(self) -> RemoteStat:
        answer = self._call(self._client.repo.stat)
        return RemoteStat(self.label, _int(answer.get("NumObjects")), _int(answer.get("RepoSize")), len(self.pins()))

    def publish(self, key: str, cid: CID) -> str:
        """Point the IPNS name of ``key`` at ``/ipfs/<cid>``; returns the name."""
        answer = self._call(self._client.name.publish, f"/ipfs/{cid}", key=key, opts={"allow-offline": "true"})
        return str(answer.get("Name", ""))

    def close(self) -> None:
        self._client.close()


def same_content(a: CID, b: CID) -> bool:
    """One DAG named by either CID version (a daemon may answer CIDv1 for our CIDv0)."""
    return a.multihash == b.multihash and a.codec == b.codec


def _timed_out(exc: BaseException) -> bool:
    """A read that waited out the timeout, under the wrappers requests and urllib3 put round it."""
    seen: BaseException | None = exc
    for _ in range(8):  # a cause chain is short; the bound guards against a cycle
        if seen is None:
            return False
        if isinstance(seen, (TimeoutError, urllib3.exceptions.TimeoutError)):
            return True
        seen = seen.__cause__ or seen.__context__ or next((a for a in seen.args if isinstance(a, BaseException)), None)
    return False


def _pin_name(info: Mapping[str, Any]) -> str | None:
    name = info.get("Name") or (info.get("Metadata") or {}).get("name")
    return str(name) if name else None


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None
