"""A real IPFS daemon for the tests: the JavaScript IPFS node (npm ``ipfs@0.66.1``), run offline.

Kubo cannot be installed on the test machines; js-ipfs serves the same RPC API (``/api/v0/...``,
POST only) from ``tests/jsipfs`` (install: ``npm ci --ignore-scripts --prefix tests/jsipfs``).
``JsIpfsNode(repo_dir).start()`` inits a repo (``jsipfs init --profile=test --empty-repo``), puts its
API, gateway and gRPC on free 127.0.0.1 ports (chosen once, kept across restarts), runs ``jsipfs
daemon --offline --enable-preload=false`` in its own process group (``IPFS_PATH`` = the repo,
``NODE_OPTIONS=--require polyfill.cjs``: Node 20 lacks ``Promise.withResolvers``) and waits for
``POST /api/v0/version``. The fixtures are in ``tests/ipfsnode_fixtures.py``.

The install: ``tests/jsipfs/package.json`` overrides ``headless`` (an optional dependency of
electron-eval, under ipfs's optional electron-webrtc, given as a GitHub tarball URL: resolved
offline to nothing, so the lock lacked it and ``npm ci`` failed "Missing: headless@ from lock
file") with the registry's 1.2.0. ``--ignore-scripts`` keeps wrtc and electron (optional, WebRTC
only) from downloading binaries; the daemon then runs without WebRTC, as it does offline anyway.
``--omit=optional`` is no way out: ipfs-http-server imports the optional prom-client statically.

What js-ipfs 0.18.1 does over RPC, as tests/test_ipfsnode.py finds it (all POST; errors are JSON
``{"Message": ..., "Code": ..., "Type": "error"}``; unknown query parameters are silently dropped):

1. ``version`` → ``{"Version": "0.18.1", "Commit": "", "Repo": "12", "ipfs-core": "0.18.1", ...}``;
   a GET → 405 (``allow: OPTIONS, POST``). ``ipfshttpclient.Client("/ip4/127.0.0.1/tcp/PORT/http",
   timeout=10)`` (``/http`` optional): ``version``, ``add_bytes`` (CIDv0, = ours), ``cat``,
   ``pin.add``, ``pin.rm``, ``pin.ls(type="recursive")``, ``block.stat``/``get``/``put`` all work.
   Every request warns ``FutureWarning: The 'strict' parameter is no longer needed on Python 3+``
   (urllib3/poolmanager.py) — filter it. ``ipfshttpclient.connect()`` warns
   ``ipfshttpclient.exceptions.VersionMismatch`` (a Warning: "Unsupported daemon version '0.18.1'
   (not in range: 0.5.0 ≤ … < 0.9.0)"), an error under ``filterwarnings = error``.
2. ``dag/import`` (multipart field ``file``; a chunked, streamed body works): 200, chunked,
   ``X-Chunked-Output: 1``, ``Trailer: X-Stream-Error``, NDJSON, one line per root:
   ``{"Root": {"Cid": {"/": "<cid>"}, "PinErrorMsg": ""}}``, no Stats line. Roots are pinned
   (recursive) by default; ``pin-roots=false`` stores the blocks, pins nothing and the body is
   EMPTY (no Root lines). The root is ours: CIDv0 ``Qm...``, CIDv1 in base32 (``bafy``/``bafk``);
   ``cid-base`` is ignored here. A root absent from the CAR: 200 and ``"PinErrorMsg": "blockstore:
   block not found"``. Root present, children absent: pinning waits for them for ever (with
   ``timeout=1s``: 500 "Failed to import DAG: request timed out", blocks kept, nothing pinned).
   Blocks are NOT verified: bytes that do not hash to their CID are stored and served as they are.
   No file part: 400 "Failed to import DAG: File argument 'data' is required."; not a CAR: 500.
3. ``pin/add?arg=CID&recursive=true`` → ``{"Pins": [cid]}`` (``recursive=false``: a ``direct``
   pin). Kubo's ``name=`` and ``pin/ls?names=true`` are ignored; a pin can carry
   ``metadata=<JSON object>``, which pin/ls returns: ``{"Keys": {cid: {"Type": "recursive",
   "Metadata": {...}}}}`` (no metadata: just ``{"Type": ...}``); ``stream=true``: NDJSON
   ``{"Type": ..., "Cid": ...[, "Metadata": ...]}``. ``pin/ls?arg=`` of an unpinned CID: 500
   "path '<cid>' is not pinned"; ``pin/rm`` of one: 500 "Failed to remove pin: <cid> is not pinned".
   CIDv1 come back in base58btc (``zb2r...``) from pin/add, pin/rm, pin/ls, block/stat (base32
   from block/put and dag/import); ``cid-base=base32`` fixes CIDv1 but fails the whole request
   with 500 "Cannot string encode V0 in base32 encoding" as soon as a CIDv0 is to be printed
   (streamed: 200, cut there): never send it, parse answers with ``CID.parse``. A malformed CID:
   400 "Invalid request query input"; an unknown endpoint: 404 ``{"Message": "Not Found", "Code": 3}``.
4. A CID it lacks: ``block/stat``, ``block/get``, ``cat``, ``pin/add`` never answer (offline, no
   "not found"); ``offline=true`` is ignored. The global ``timeout=1s`` works: 500 after it, "Failed
   to get block stats: request timed out" (block/get: "Failed to get block: ...", cat: "Failed to cat
   file: ...", pin/add: "Failed to add pin: ..."); via ipfshttpclient ``opts={"timeout": "1s"}`` →
   ``ipfshttpclient.exceptions.ErrorResponse``; a client-side timeout → ``httpx2.ReadTimeout`` /
   ``ipfshttpclient.exceptions.TimeoutError``. No endpoint says "not here" at once: ``refs/local``
   lists every block as NDJSON ``{"Ref": "bafkrei..."}`` — a raw-codec CIDv1 of the multihash
   whatever the codec, so compare multihashes — or ``block/stat?timeout=500ms`` (present: ms;
   absent: 500 after 500 ms).
5. ``block/put`` (multipart field ``data``) defaults to dag-pb CIDv0 (``Qm...``, whatever the
   bytes); Kubo's ``cid-codec=raw`` is ignored, ``format=raw`` gives the raw CIDv1 (base32);
   ``{"Key", "Size"}``, unpinned unless ``pin=true``. ``block/get``: the bytes
   (application/octet-stream). ``dag/export?arg=CID``: 200, chunked, our CAR byte for byte (labelled
   ``application/json``); of an incomplete DAG it sends what it has, then waits for ever (with
   ``timeout=``: 200, the body just ends, the error only in the ``X-Stream-Error`` trailer, which
   httpx2/requests never show — true of every streamed answer). ``repo/stat``: ``{"NumObjects",
   "RepoSize", "RepoPath", "Version", "StorageMax"}`` with the numbers as STRINGS.
   ``key/gen?arg=NAME&type=ed25519`` → ``{"Name", "Id": "12D3KooW..."}`` (``key/list`` shows every
   key twice); ``name/publish?arg=/ipfs/CID&key=self|NAME&allow-offline=true`` → ``{"Name": <key
   id>, "Value": "/ipfs/CID"}`` and ``name/resolve?arg=/ipns/<id>`` (or the bare id) → ``{"Path":
   "/ipfs/CID"}``, all offline; name/resolve without arg: 500.
6. SIGKILL: pins (with metadata), pinned and unpinned blocks all survive a restart. It leaves
   ``repo.lock`` (a directory, proper-lockfile, stale after 20 s) and ``api``; a daemon started
   within 20 s prints "Lock already being held for file: .../repo.lock" and exits with code 0, so
   ``start`` removes both when the holder was its own, dead, daemon. SIGTERM shuts down cleanly in
   ~0.1 s (lock and ``api`` removed). A killed daemon refuses connections at once:
   ``httpx2.ConnectError``, ``ipfshttpclient.exceptions.ConnectionError``; requests in flight end
   with ``httpx2.RemoteProtocolError`` / ``ipfshttpclient.exceptions.ProtocolError``.

Also: ``init --profile=test`` alone pins a readme and an empty directory (``--empty-repo`` does
not); with any ``Addresses.Swarm`` entry the offline daemon never opens its API; a running daemon re-reads ``config`` on many calls (a half-written one kills it: "Unexpected
end of JSON input"), hence atomic writes; init takes ~3 s, a start ~3 s (2 CPUs).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx2

TESTS_DIR = Path(__file__).resolve().parent
JSIPFS_DIR = TESTS_DIR / "jsipfs"
JSIPFS_BIN = JSIPFS_DIR / "node_modules" / ".bin" / "jsipfs"
POLYFILL = JSIPFS_DIR / "polyfill.cjs"
JSIPFS_INSTALL = "npm ci --ignore-scripts --prefix tests/jsipfs"
JSIPFS_VERSION = "0.18.1"  # what ipfs@0.66.1 (ipfs-core 0.18.1) reports from /api/v0/version

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
#: js-ipfs locks its repo with proper-lockfile: a directory ``repo.lock`` whose mtime the holder
#: refreshes; another daemon refuses the repo ("Lock already being held") until it is 20 s stale.
LOCK_NAME = "repo.lock"
_PORT_KEYS = {"api": "API", "gateway": "Gateway", "rpc": "RPC"}


class JsIpfsNodeError(RuntimeError):
    """The JS IPFS node could not be initialised or started."""


def jsipfs_problem() -> str | None:
    """Why the JS IPFS node cannot run here (``None`` when it can)."""
    if shutil.which("node") is None:
        return f"node is not installed (needed for the JS IPFS node; then run `{JSIPFS_INSTALL}`)"
    if not JSIPFS_BIN.exists():
        return f"the JS IPFS node is not installed: run `{JSIPFS_INSTALL}`"
    return None


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (all held open while choosing)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


_LIVE: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_leftovers() -> None:
    """A backstop: a daemon runs in its own session, so nothing else would end it with us."""
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class JsIpfsNode:
    """One js-ipfs daemon over one repo directory. Start, stop, kill and restart it by PID."""

    def __init__(
        self,
        repo_dir: Path,
        *,
        binary: Path = JSIPFS_BIN,
        start_timeout: float = START_TIMEOUT_S,
        ports: dict[str, int] | None = None,
    ) -> None:
        self.repo_dir = Path(repo_dir)
        self.binary = Path(binary)
        self.start_timeout = start_timeout
        # the daemon's output goes next to the repo (never into it)
        self.stdout_path = self.repo_dir.with_name(self.repo_dir.name + ".daemon.out")
        self.stderr_path = self.repo_dir.with_name(self.repo_dir.name + ".daemon.err")
        if ports is not None and set(ports) != set(_PORT_KEYS):
            raise ValueError(f"ports must name {sorted(_PORT_KEYS)}")
        self._ports: dict[str, int] | None = dict(ports) if ports is not None else None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- addresses ---------------------------------------------------------------------------
    @property
    def ports(self) -> dict[str, int]:
        """``{"api": ..., "gateway": ..., "rpc": ...}``: chosen on first use and kept (a repo this
        class configured before keeps its ports, even for a new ``JsIpfsNode`` object)."""
        if self._ports is None:
            self._ports = self._configured_ports()
        if self._ports is None:
            api, gateway, rpc = _free_ports(3)
            self._ports = {"api": api, "gateway": gateway, "rpc": rpc}
        return self._ports

    def _configured_ports(self) -> dict[str, int] | None:
        try:
            addresses = json.loads((self.repo_dir / "config").read_text("utf-8"))["Addresses"]
            ports = {
                name: int(str(addresses[key]).rsplit("/tcp/", 1)[1].split("/")[0]) for name, key in _PORT_KEYS.items()
            }
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None
        return ports if all(ports.values()) and addresses.get("Swarm") == [] else None

    @property
    def api_multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.ports['api']}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    # -- process -----------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["IPFS_PATH"] = str(self.repo_dir)
        preload = f'--require "{POLYFILL}"'  # quoted: NODE_OPTIONS splits on spaces
        env["NODE_OPTIONS"] = f"{env['NODE_OPTIONS']} {preload}" if env.get("NODE_OPTIONS") else preload
        for name in ("DEBUG", "IPFS_MONITORING"):  # no debug logging, no metrics
            env.pop(name, None)
        return env

    def _init(self) -> None:
        self.repo_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            proc = subprocess.run(
                [str(self.binary), "init", "--profile=test", "--empty-repo"],
                env=self._env(),
                capture_output=True,
                timeout=self.start_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise JsIpfsNodeError(f"`jsipfs init` did not finish within {self.start_timeout:g}s") from exc
        except OSError as exc:
            raise JsIpfsNodeError(f"cannot run {self.binary}: {exc}") from exc
        if proc.returncode != 0 or not (self.repo_dir / "config").is_file():
            output = (proc.stderr or proc.stdout).decode("utf-8", "replace")[-4000:]
            raise JsIpfsNodeError(f"`jsipfs init` failed (exit {proc.returncode}):\n{output}")

    def _configure(self) -> None:
        """Write the addresses into the repo's JSON config (the daemon is not running: no need for
        ``jsipfs config``, which costs a node start per key). A running js-ipfs re-reads this file
        on many calls, so it is replaced atomically, and only when it changes."""
        path = self.repo_dir / "config"
        text = path.read_text("utf-8")
        config = json.loads(text)
        addresses = config.setdefault("Addresses", {})
        # any swarm address (even 127.0.0.1/tcp/0) and the --offline daemon hangs before its API, after
        # "no valid addresses were provided for transports [@libp2p/tcp, @libp2p/websockets, ...]"
        addresses["Swarm"] = []
        addresses["API"] = self.api_multiaddr
        addresses["Gateway"] = f"/ip4/127.0.0.1/tcp/{self.ports['gateway']}"
        if "RPC" in addresses:  # the gRPC-over-websocket server (ipfs-grpc-server)
            addresses["RPC"] = f"/ip4/127.0.0.1/tcp/{self.ports['rpc']}"
        new_text = json.dumps(config, indent=2)
        if new_text != text:
            tmp = path.with_name("config.tmp")
            tmp.write_text(new_text, "utf-8")
            os.replace(tmp, path)

    def _clear_stale_lock(self) -> None:
        """A SIGKILLed daemon leaves ``repo.lock`` (and the ``api`` file) behind, and the next daemon
        refuses the repo for 20 s ("Lock already being held"). Remove them only when the holder was
        our own daemon and it is dead: a lock this object did not make may belong to a live daemon
        (the new one then refuses the repo, and ``start`` raises with its stderr)."""
        if self._proc is None or self._proc.poll() is None:
            return
        lock = self.repo_dir / LOCK_NAME
        if lock.is_dir():
            shutil.rmtree(lock, ignore_errors=True)
        elif lock.exists():
            lock.unlink()
        (self.repo_dir / "api").unlink(missing_ok=True)

    def start(self) -> JsIpfsNode:
        if self.running:
            return self
        if not self.binary.exists():
            raise JsIpfsNodeError(f"{self.binary} is missing: run `{JSIPFS_INSTALL}`")
        if not (self.repo_dir / "config").is_file():
            self._init()
        self._configure()
        self._clear_stale_lock()
        self._check_ports_free()  # else another daemon's API could pass for ours in _wait_ready
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            try:
                self._proc = subprocess.Popen(
                    [str(self.binary), "daemon", "--offline", "--enable-preload=false"],
                    env=self._env(),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=self.repo_dir,
                    start_new_session=True,  # its own process group: a ^C of pytest is not its business
                )
            except OSError as exc:
                raise JsIpfsNodeError(f"cannot run {self.binary}: {exc}") from exc
        _LIVE.add(self._proc)
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _check_ports_free(self) -> None:
        for name, port in self.ports.items():
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                # as the daemon binds: connections of a killed daemon in TIME_WAIT do not count
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError as exc:
                    raise JsIpfsNodeError(
                        f"127.0.0.1:{port} (the {name} port) is already in use ({exc.strerror}): "
                        "another daemon on this repo, or the port was taken"
                    ) from exc

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_error = "no answer yet"
        with httpx2.Client(timeout=2.0) as http:
            while True:
                assert self._proc is not None
                code = self._proc.poll()
                if code is not None:
                    raise JsIpfsNodeError(
                        f"the JS IPFS daemon exited (code {code}) before its API answered\n{self.output_tail()}"
                    )
                try:
                    response = http.post(f"{self.api_url}/api/v0/version")
                    if response.status_code == 200 and "Version" in response.json() and self._proc.poll() is None:
                        return
                    last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                except (httpx2.HTTPError, ValueError) as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > deadline:
                    raise JsIpfsNodeError(
                        f"the JS IPFS daemon's API ({self.api_url}) did not answer within {self.start_timeout:g}s "
                        f"({last_error})\n{self.output_tail()}"
                    )
                time.sleep(0.1)

    def output_tail(self, lines: int = 40) -> str:
        err = _tail(self.stderr_path, lines)
        out = _tail(self.stdout_path, lines)
        return f"--- daemon stderr (tail) ---\n{err}\n--- daemon stdout (tail) ---\n{out}"

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """SIGTERM (a clean shutdown: releases the repo lock), SIGKILL after ``grace`` seconds."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        proc.wait()
        _LIVE.discard(proc)

    def kill(self) -> None:
        """SIGKILL now (a daemon dying mid-run); the repo lock stays behind (``start`` clears it)."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        _LIVE.discard(proc)

    def restart(self) -> JsIpfsNode:
        """Stop (if running) and start again: same repo, same ports."""
        self.stop()
        return self.start()

    def __enter__(self) -> JsIpfsNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"JsIpfsNode({str(self.repo_dir)!r}, {self.api_url}, {state})"
