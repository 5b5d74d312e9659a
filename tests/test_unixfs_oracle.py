"""Differential tests: the Python UnixFS importer against the reference JavaScript importer.

Every case is imported twice — by ``hf_ipfs_scraper.ipfs`` and by npm ``ipfs-unixfs-importer``
(pinned in ``tests/oracle/package.json``, run by ``tests/oracle/import.mjs``) — and the root CID,
the root's cumulative DAG size (a link's Tsize) and the *set of every block CID* must agree.
All JS imports of one kind run in a single node process (one batch per module fixture), and only
for the cases pytest actually selected.

Inputs are reproducible: file bytes are Kubo's deterministic ChaCha20 stream (``kubo_file``) and
trees come from ``random.Random(fixed seed)``.

Known divergence, designed around (see ``check_shard_design``): while building, the JS tree
builder counts a subdirectory's link as 0 in a directory's shard-size estimate (its CID is not
known yet), whereas Kubo — which the Python importer follows — counts every link. Sharding cases
are built so that every directory lands on the same side of the threshold either way, and the
tests assert that they do. Both sides shard only when the estimate is *strictly greater* than the
threshold (262144 bytes by default).

JS quirks the inputs respect (neither applies to ``ipfs add``):

* entries go to the JS importer sorted by path, as ``ipfs add -r`` walks a tree: its tree builder
  re-parents only the current path when a directory turns into a shard, so a subdirectory that
  got more entries after its parent was sharded would be rebuilt from a stale copy;
* only *empty* directories are sent as directory entries (one sent before its contents would be
  replaced, and one sent after them would replace its contents); the JS builder then counts them
  in the estimate like any link, as Kubo does;
* names contain no ``/`` or ``\\`` (the JS importer splits paths on ``/`` unless escaped by
  ``\\``) and are never ``.`` or ``..``.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from hf_ipfs_scraper.ipfs import dagpb, unixfs
from hf_ipfs_scraper.ipfs.directory import DirectoryBuilder
from hf_ipfs_scraper.ipfs.importer import FileImporter, Node
from hf_ipfs_scraper.ipfs.options import ImportOptions
from hf_ipfs_scraper.ipfs.sink import MemorySink

pytestmark = pytest.mark.oracle

CHUNK_256K = 262_144
SHARD_THRESHOLD = 262_144
ROOT = "root"  # the JS entries' common top directory; its result is the tree's root


# ---------------------------------------------------------------------------------------------
# Import modes: Python options and the JS importer options that must mean the same thing.
# The Kubo ones are written out by hand (not derived) so the flag/profile mapping is tested too.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mode:
    name: str
    py: ImportOptions
    js: dict[str, Any]

    def but(self, label: str, js: dict[str, Any], **py: Any) -> Mode:
        """The same mode with some options changed on both sides."""
        return Mode(f"{self.name}+{label}", dataclasses.replace(self.py, **py), {**self.js, **js})


KUBO_JS = {
    "cidVersion": 0,
    "rawLeaves": False,
    "chunkSize": CHUNK_256K,
    "maxChildrenPerNode": 174,
    "shardSplitStrategy": "links-bytes",
    "shardSplitThresholdBytes": SHARD_THRESHOLD,
}

MODES = {
    m.name: m
    for m in [
        # plain `ipfs add`
        Mode("kubo-default", ImportOptions.from_kubo_flags(), KUBO_JS),
        # `ipfs add --cid-version 1` (turns raw leaves on)
        Mode("cid-v1", ImportOptions.from_kubo_flags(cid_version=1), {**KUBO_JS, "cidVersion": 1, "rawLeaves": True}),
        # `ipfs add --raw-leaves` (CIDv1 raw leaves under CIDv0 parents)
        Mode("raw-leaves-v0", ImportOptions.from_kubo_flags(raw_leaves=True), {**KUBO_JS, "rawLeaves": True}),
        # `ipfs add --chunker size-1000`
        Mode("chunker-1000", ImportOptions.from_kubo_flags(chunker="size-1000"), {**KUBO_JS, "chunkSize": 1000}),
        # `ipfs add --profile ...`, against the JS importer's own profile defaults
        Mode("profile-v0-2015", ImportOptions.profile("unixfs-v0-2015"), {"profile": "unixfs-v0-2015"}),
        Mode("profile-v1-2025", ImportOptions.profile("unixfs-v1-2025"), {"profile": "unixfs-v1-2025"}),
    ]
}
PROFILE_MODES = ("profile-v0-2015", "profile-v1-2025")


def js_options(py: ImportOptions) -> dict[str, Any]:
    """Explicit JS options for arbitrary Python options."""
    return {
        "cidVersion": py.cid_version,
        "rawLeaves": py.raw_leaves,
        "chunkSize": py.chunk_size,
        "maxChildrenPerNode": py.max_links,
        "shardSplitStrategy": {"links": "links-bytes", "block": "block-bytes"}[py.shard_estimate],
        "shardSplitThresholdBytes": py.shard_threshold,
    }


# ---------------------------------------------------------------------------------------------
# Comparing results
# ---------------------------------------------------------------------------------------------
def assert_same_blocks(sink: MemorySink, answer: dict[str, Any]) -> None:
    js = answer["blocks"]
    assert len(js) == len(set(js)), "the oracle listed a block twice"
    py = {str(cid) for cid in sink.blocks}
    missing, extra = sorted(set(js) - py), sorted(py - set(js))
    assert not missing and not extra, (
        f"block sets differ: python {len(py)}, js {len(js)}; "
        f"only in js ({len(missing)}): {missing[:5]}; only in python ({len(extra)}): {extra[:5]}"
    )


def js_result(answer: dict[str, Any], path: str) -> dict[str, Any]:
    """The importer's result for ``path``: the last one, as it yields a directory after its contents
    (and a HAMT-sharded directory re-labels its subdirectories' results with its own path)."""
    found = [r for r in answer["results"] if r["path"] == path]
    assert found, f"the oracle answered no result for {path!r}"
    return found[-1]


def assert_same_root(node: Node, result: dict[str, Any]) -> None:
    assert (str(node.cid), node.tsize) == (result["cid"], int(result["size"]))


def selected_params(request: pytest.FixtureRequest, test_name: str) -> list[Any]:
    """The ``case`` parameters of ``test_name`` that this session will run (to batch only those)."""
    cases = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "originalname", None) == test_name and callspec is not None:
            cases.append(callspec.params["case"])
    return cases


def run_batch(js_oracle: Any, cases: list[Any], request_for: Callable[[Any], tuple[dict, list]]) -> dict[str, Any]:
    unique = list({case.id: case for case in cases}.values())
    answers = js_oracle.batch([request_for(case) for case in unique])
    return {case.id: answer for case, answer in zip(unique, answers)}


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileCase:
    id: str
    mode: Mode
    size: int
    seed: str


def _file_cases() -> list[FileCase]:
    cases: dict[str, FileCase] = {}

    def add(mode: Mode, size: int, seed: str | None = None) -> None:
        case = FileCase(f"{mode.name}/{size}", mode, size, seed or f"oracle-file-{size}")
        cases.setdefault(case.id, case)

    for mode in MODES.values():
        chunk, links = mode.py.chunk_size, mode.py.max_links
        # chunk boundaries: Kubo's 256 KiB ones and this mode's own
        for size in (0, 1, 2, 1000, 262_143, 262_144, 262_145, chunk - 1, chunk, chunk + 1, 3 * chunk + 17):
            add(mode, size)
        # link-count boundaries (174 / 175 chunks; 1024 / 1025 for v1-2025), cheaply with 1 KiB chunks
        small = mode.but("chunk-1024", {"chunkSize": 1024}, chunk_size=1024)
        for n_bytes in (links * 1024 - 1, links * 1024, links * 1024 + 1, (links + 1) * 1024, 2 * links * 1024 + 1):
            add(small, n_bytes)
    kubo, cid_v1 = MODES["kubo-default"], MODES["cid-v1"]
    # real-size link-count boundary: 174 chunks of 256 KiB (one level) and one byte more (two levels)
    add(kubo, 174 * CHUNK_256K)
    add(kubo, 174 * CHUNK_256K + 1)
    add(cid_v1, 174 * CHUNK_256K + 1)
    add(MODES["raw-leaves-v0"], 175 * CHUNK_256K)
    # three-level trees: more than 174^2 leaves of 256 bytes
    for mode in (kubo, cid_v1, MODES["raw-leaves-v0"]):
        tiny = mode.but("chunk-256", {"chunkSize": 256}, chunk_size=256)
        for size in (174 * 174 * 256, 174 * 174 * 256 + 1, 174 * 174 * 256 + 174 * 256 + 1):
            add(tiny, size)
    # deep, narrow trees: 1-byte chunks, 2..4 links per node
    for mode in (kubo, cid_v1, MODES["raw-leaves-v0"]):
        for links in (2, 3, 4):
            js = {"chunkSize": 1, "maxChildrenPerNode": links}
            narrow = mode.but(f"chunk-1-links-{links}", js, chunk_size=1, max_links=links)
            for size in sorted({links, links + 1, links**2, links**2 + 1, links**3, links**3 + 1, 2 * links**3 + 1}):
                add(narrow, size)
    # random option combinations and sizes
    rng = random.Random(0x0BAC1E)
    for i in range(48):
        chunk = rng.choice([1, 2, 3, 7, 64, 100, 256, 1000, 1024, 4096, 10_000, 65_536, 262_144, 1 << 20])
        py = ImportOptions(
            cid_version=rng.choice([0, 1]),
            raw_leaves=rng.choice([False, True]),
            chunk_size=chunk,
            max_links=rng.choice([2, 3, 5, 11, 64, 174, 175, 1024]),
        )
        size = rng.randint(0, min(chunk * 3000, 3 << 20))
        mode = Mode(f"random-{i}", py, js_options(py))
        add(mode, size, seed=f"oracle-random-{i}")
    return list(cases.values())


FILE_CASES = _file_cases()


@pytest.fixture(scope="module")
def file_answers(request: pytest.FixtureRequest, js_oracle: Any, kubo_file: Callable[[str, int], Path]) -> dict[str, Any]:
    def request_for(case: FileCase) -> tuple[dict, list]:
        return case.mode.js, [{"path": "file", "file": str(kubo_file(case.seed, case.size))}]

    return run_batch(js_oracle, selected_params(request, "test_file_matches_js"), request_for)


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.id for c in FILE_CASES])
def test_file_matches_js(case: FileCase, file_answers: dict[str, Any], kubo_file: Callable[[str, int], Path]) -> None:
    answer = file_answers[case.id]
    sink = MemorySink()
    with open(kubo_file(case.seed, case.size), "rb") as fh:
        node = FileImporter(sink, case.mode.py).add(fh)
    assert node.size == case.size
    assert_same_root(node, js_result(answer, "file"))
    assert_same_blocks(sink, answer)


def test_profiles_match_js_profile_defaults(js_oracle: Any, kubo_file: Callable[[str, int], Path]) -> None:
    """``ImportOptions.profile`` equals the JS importer's profile defaults given explicitly, and
    the two profiles really differ on these inputs (so the comparison above is not vacuous)."""
    path = str(kubo_file("oracle-profile", 1_126_400))  # 2 chunks of 1 MiB, or 5 of 256 KiB
    answers = js_oracle.batch(
        [(MODES[name].js, [{"path": "f", "file": path}]) for name in PROFILE_MODES]
        + [(js_options(MODES[name].py), [{"path": "f", "file": path}]) for name in PROFILE_MODES]
    )
    by_profile = [a["results"][0]["cid"] for a in answers[:2]]
    by_fields = [a["results"][0]["cid"] for a in answers[2:]]
    assert by_profile == by_fields
    assert by_profile[0] != by_profile[1]
    assert by_profile[0].startswith("Qm") and by_profile[1].startswith("bafy")


def test_oracle_reproduces_kubo_vectors(js_oracle: Any, kubo_file: Callable[[str, int], Path], tmp_path: Path) -> None:
    """The JS importer, with the options used here for Kubo, gives Kubo's own CIDs."""

    def write(name: str, data: bytes) -> str:
        (tmp_path / name).write_bytes(data)
        return str(tmp_path / name)

    hello = write("hello", b"hello world")
    answers = js_oracle.batch(
        [
            (MODES["kubo-default"].js, [{"path": "f", "file": hello}]),
            (MODES["cid-v1"].js, [{"path": "f", "file": hello}]),
            (MODES["kubo-default"].js, [{"path": "f", "file": str(kubo_file("chunk-v0-seed", 262_145))}]),
            (
                MODES["kubo-default"].js,
                [
                    {"path": "planets/mars.txt", "file": write("mars", b"Hello Mars!\n")},
                    {"path": "planets/venus.txt", "file": write("venus", b"Hello Venus!\n")},
                ],
            ),
            (MODES["kubo-default"].js, [{"path": "empty"}]),
        ]
    )
    assert [js_result(a, p)["cid"] for a, p in zip(answers, ["f", "f", "f", "planets", "empty"])] == [
        "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD",
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
        "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ",
        "QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY",
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
    ]


# ---------------------------------------------------------------------------------------------
# Directories
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DirCase:
    id: str
    mode: Mode
    files: tuple[tuple[str, str, int], ...]  # (path, content seed, size)
    empty_dirs: tuple[str, ...] = ()  # leaf empty directories
    sharded: tuple[str, ...] = ()  # directories that must end up HAMT shards (checked on both sides)
    flat: tuple[str, ...] = ()  # directories that must stay plain
    subshard: tuple[str, ...] = ()  # shards that must contain a sub-shard (first-byte hash collision)
    deep_subshard: tuple[str, ...] = ()  # shards that must reach three levels (two-byte collision)
    exact_estimate: int | None = None  # the root's Kubo estimate must be exactly this


NAME_CHARS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    " -_.,;:!?'\"()[]{}<>@#$%^&*+=~`|"
    "éüßøñçÅ\u0301"  # two-byte letters and a combining accent
    "中文字日本語한국어"  # three bytes
    "\ufb01\uff61\ue000"  # three bytes above the surrogates: UTF-16 sorts them after four-byte ones
    "🙂🚀𝄞"  # four bytes (surrogate pairs in JS)
)


def random_name(rng: random.Random, used: set[str], min_len: int = 1, max_len: int = 24) -> str:
    while True:
        name = "".join(rng.choices(NAME_CHARS, k=rng.randint(min_len, max_len)))
        if name not in used and name not in (".", ".."):
            used.add(name)
            return name


def join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


SMALL_SIZES = (0, 0, 1, 3, 11, 100, 1000, 4096, 20_000)
RANDOM_TREES_PER_MODE = 5


def random_tree(rng: random.Random, mode: Mode, n_files: int, n_empty: int, max_depth: int) -> dict[str, Any]:
    used: dict[str, set[str]] = {"": set()}
    dirs = [""]
    files: list[tuple[str, str, int]] = []
    big = mode.py.chunk_size + 1  # one multi-chunk file per tree
    for i in range(n_files):
        parent = rng.choice(dirs)
        while parent.count("/") + 1 < max_depth and rng.random() < 0.35:
            child = join(parent, random_name(rng, used[parent]))
            used[child] = set()
            dirs.append(child)
            parent = child
        size = big if i == 0 else rng.choice(SMALL_SIZES)
        files.append((join(parent, random_name(rng, used[parent])), f"tree-{size}-{rng.randrange(4)}", size))
    empty = []
    for _ in range(n_empty):
        parent = rng.choice(dirs)
        path = join(parent, random_name(rng, used[parent]))
        for _ in range(rng.choice([0, 0, 1, 2])):  # sometimes a chain of directories ending empty
            path = join(path, random_name(rng, set()))
        empty.append(path)
    return {"files": tuple(files), "empty_dirs": tuple(empty)}


def shaped_tree(
    rng: random.Random, shape: dict[str, Any], prefix: str = "", name_len: tuple[int, int] = (1, 24)
) -> dict[str, Any]:
    """A tree of a given shape: ``{"files": n, "empty": k, "dirs": {name: shape}}``, random names."""
    used = set(shape.get("dirs", {}))
    files = []
    for _ in range(shape.get("files", 0)):
        size = rng.choice((0, 1, 5, 60, 200))
        files.append((join(prefix, random_name(rng, used, *name_len)), f"shard-{size}-{rng.randrange(3)}", size))
    empty = [join(prefix, random_name(rng, used, 1, 24)) for _ in range(shape.get("empty", 0))]
    for name, sub in shape.get("dirs", {}).items():
        inner = shaped_tree(rng, sub, join(prefix, name), name_len)
        files += inner["files"]
        empty += inner["empty_dirs"]
    return {"files": tuple(files), "empty_dirs": tuple(empty)}


# -- shard-size estimates, as Kubo (and the JS importer, for the links it counts) compute them ---
def varint_len(n: int) -> int:
    return max(1, (n.bit_length() + 6) // 7)


def link_estimate(strategy: str, name: str, cid_len: int, tsize: int) -> int:
    name_len = len(name.encode("utf-8"))
    if strategy == "links":  # name bytes + CID bytes
        return name_len + cid_len
    inner = 1 + varint_len(cid_len) + cid_len + 1 + varint_len(name_len) + name_len + 1 + varint_len(tsize)
    return 1 + varint_len(inner) + inner  # the encoded PBLink inside its PBNode field


def base_estimate(strategy: str) -> int:
    return 0 if strategy == "links" else 4  # the Data field of a plain directory: 0a 02 08 01


def edge_tree(strategy: str, target: int, cid_len: int, tsize: int, dir_cid_len: int) -> dict[str, Any]:
    """A flat directory of identical files (plus one empty directory) whose estimate is exactly ``target``.

    Names are 150..250 bytes long, where every varint in a link has a fixed length, so each extra
    name byte adds exactly one byte to the estimate.
    """
    empty = "an empty directory"
    total = base_estimate(strategy) + link_estimate(strategy, empty, dir_cid_len, 4)
    lengths: list[int] = []
    while total + link_estimate(strategy, "x" * 150, cid_len, tsize) <= target:
        lengths.append(150)
        total += link_estimate(strategy, "x" * 150, cid_len, tsize)
    for i in range(len(lengths)):
        grow = min(100, target - total)
        lengths[i] += grow
        total += grow
    names = [f"{i:05d}-é-" for i in range(len(lengths))]
    names = [n + "x" * (length - len(n.encode("utf-8"))) for n, length in zip(names, lengths)]
    estimate = base_estimate(strategy) + link_estimate(strategy, empty, dir_cid_len, 4)
    estimate += sum(link_estimate(strategy, n, cid_len, tsize) for n in names)
    assert estimate == target, "edge_tree could not hit its target"
    return {"files": tuple((n, "edge-content", 100) for n in names), "empty_dirs": (empty,)}


def _dir_cases() -> list[DirCase]:
    cases: list[DirCase] = []
    # random trees: nested folders, empty files, empty directories, unicode names
    for mode_index, mode in enumerate(MODES.values()):
        for k in range(RANDOM_TREES_PER_MODE):
            rng = random.Random(1000 * mode_index + k)
            tree = random_tree(rng, mode, n_files=rng.randint(8, 40), n_empty=rng.randint(1, 5), max_depth=4)
            cases.append(DirCase(f"{mode.name}/random-tree-{k}", mode, **tree))
    # link order is by UTF-8 bytes (not UTF-16 code units, not normalised)
    ordering = ("a", "B", "é", "e\u0301", "\uff61", "\ufb01", "\ue000", "🙂", "𝄞", "a b", "a-b", "a.b", "ab", "~")
    for name in ("kubo-default", "profile-v1-2025"):
        files = tuple((f"{i}/{n}", "order", 5) for i in range(2) for n in ordering)
        cases.append(DirCase(f"{name}/name-order", MODES[name], files, tuple(f"{n}-empty" for n in ordering)))
    cases.append(DirCase("kubo-default/only-empty-dirs", MODES["kubo-default"], (), ("a/b/c", "a/d", "e")))
    cases.append(DirCase("cid-v1/only-empty-dirs", MODES["cid-v1"], (), ("a/b/c", "a/d", "e")))

    # nested shards at a small threshold: cheap, many levels, shards inside plain dirs and vice versa
    small_shape = {
        "files": 120,
        "empty": 2,
        "dirs": {
            "sharded": {"files": 90, "dirs": {"deeper": {"files": 70, "empty": 1}, "flat": {"files": 4}}},
            "flat": {"files": 5, "dirs": {"sharded-inside-flat": {"files": 80}}},
        },
    }
    small_checks = {
        "sharded": ("", "sharded", "sharded/deeper", "flat/sharded-inside-flat"),
        "flat": ("sharded/flat", "flat"),
        "subshard": ("",),
    }
    for k, name in enumerate(("kubo-default", "cid-v1", "raw-leaves-v0", *PROFILE_MODES)):
        mode = MODES[name].but("threshold-2048", {"shardSplitThresholdBytes": 2048}, shard_threshold=2048)
        tree = shaped_tree(random.Random(2000 + k), small_shape)
        cases.append(DirCase(f"{mode.name}/nested-shards", mode, **tree, **small_checks))

    # real threshold: thousands of long names, sub-shards from first-byte collisions, under each
    # profile and under the flag modes (CIDv0 34-byte and CIDv1 36-byte links)
    big_shape = {
        "files": 2200,
        "empty": 1,
        "dirs": {"small": {"files": 20, "dirs": {"inner": {"files": 3}}}, "also-big": {"files": 1900}},
    }
    for k, name in enumerate(("kubo-default", "cid-v1", *PROFILE_MODES)):
        mode = MODES[name]
        tree = shaped_tree(random.Random(3000 + k), big_shape, name_len=(60, 110))
        cases.append(
            DirCase(
                f"{mode.name}/hamt",
                mode,
                **tree,
                sharded=("", "also-big"),
                flat=("small", "small/inner"),
                subshard=("", "also-big"),
                deep_subshard=("",),
            )
        )

    # just around the threshold: an estimate of exactly 262144 stays plain, 262145 shards
    edge_modes = {
        "kubo-default": (34, 108, 34),  # CIDv0 leaves of 100 bytes: 108-byte dag-pb blocks
        "cid-v1": (36, 100, 36),  # raw leaves
        "profile-v0-2015": (34, 108, 34),
        "profile-v1-2025": (36, 100, 36),
    }
    for name, (cid_len, tsize, dir_cid_len) in edge_modes.items():
        mode = MODES[name]
        for target in (SHARD_THRESHOLD - 1, SHARD_THRESHOLD, SHARD_THRESHOLD + 1):
            tree = edge_tree(mode.py.shard_estimate, target, cid_len, tsize, dir_cid_len)
            shape = {"sharded": ("",)} if target > SHARD_THRESHOLD else {"flat": ("",)}
            cases.append(DirCase(f"{mode.name}/edge-{target}", mode, **tree, **shape, exact_estimate=target))
    return cases


DIR_CASES = _dir_cases()


def js_dir_request(case: DirCase, kubo_file: Callable[[str, int], Path]) -> tuple[dict, list]:
    entries = [{"path": f"{ROOT}/{p}", "file": str(kubo_file(seed, size))} for p, seed, size in case.files]
    entries += [{"path": f"{ROOT}/{p}"} for p in case.empty_dirs]
    entries.sort(key=lambda e: e["path"])  # as `ipfs add -r` walks (see the module docstring)
    return case.mode.js, entries


@dataclass
class PyTree:
    sink: MemorySink
    root: Node
    files: dict[str, Node]
    dirs: dict[str, Node]  # every directory, "" for the root


def build_python_tree(case: DirCase, kubo_file: Callable[[str, int], Path]) -> PyTree:
    sink = MemorySink()
    importer = FileImporter(sink, case.mode.py)
    builder = DirectoryBuilder(sink, case.mode.py)
    contents: dict[tuple[str, int], Node] = {}
    files = {}
    for path, seed, size in case.files:
        if (seed, size) not in contents:
            with open(kubo_file(seed, size), "rb") as fh:
                contents[(seed, size)] = importer.add(fh)
        files[path] = contents[(seed, size)]
        builder.add(path, files[path])
    for path in case.empty_dirs:
        builder.mkdir(path)
    root = builder.build()
    return PyTree(sink, root, files, dict(builder.built))


def dir_links(tree: PyTree, case: DirCase, directory: str) -> list[tuple[str, Node, bool]]:
    """``(name, node, js_counts_it)`` for each entry of ``directory``.

    The JS builder counts files and the empty directories sent as entries; it counts 0 for the
    subdirectories it builds itself (see the module docstring).
    """
    prefix = f"{directory}/" if directory else ""
    explicit = set(case.empty_dirs)
    out = []
    for path, node in [*tree.files.items(), *tree.dirs.items()]:
        if path and path.startswith(prefix) and "/" not in path[len(prefix) :]:
            out.append((path[len(prefix) :], node, path in tree.files or path in explicit))
    return out


def check_shard_design(tree: PyTree, case: DirCase) -> None:
    """Every directory is on the same side of the threshold whether subdirectory links count or not."""
    opts = case.mode.py
    for directory in tree.dirs:
        sizes = [
            (link_estimate(opts.shard_estimate, name, len(bytes(node.cid)), node.tsize), counted)
            for name, node, counted in dir_links(tree, case, directory)
        ]
        kubo = base_estimate(opts.shard_estimate) + sum(size for size, _ in sizes)
        js = base_estimate(opts.shard_estimate) + sum(size for size, counted in sizes if counted)
        assert (kubo > opts.shard_threshold) == (js > opts.shard_threshold), (
            f"test design: directory {directory!r} has estimate {kubo} with subdirectory links and "
            f"{js} without, on both sides of {opts.shard_threshold}; JS and Kubo would disagree"
        )
        if directory == "" and case.exact_estimate is not None:
            assert kubo == case.exact_estimate


def unixfs_type(sink: MemorySink, node: Node) -> int:
    return unixfs.decode(dagpb.decode(sink.blocks[node.cid]).data).type


def has_subshard(sink: MemorySink, node: Node) -> bool:
    return shard_depth(sink, node.cid) >= 2


def shard_depth(sink: MemorySink, cid: Any) -> int:
    """Levels of a HAMT: a link named by its two hex digits alone is a sub-shard."""
    subshards = [link.cid for link in dagpb.decode(sink.blocks[cid]).links if len(link.name) == 2]
    return 1 + max((shard_depth(sink, sub) for sub in subshards), default=0)


@pytest.fixture(scope="module")
def dir_answers(request: pytest.FixtureRequest, js_oracle: Any, kubo_file: Callable[[str, int], Path]) -> dict[str, Any]:
    cases = selected_params(request, "test_directory_matches_js")
    return run_batch(js_oracle, cases, lambda case: js_dir_request(case, kubo_file))


@pytest.mark.parametrize("case", DIR_CASES, ids=[c.id for c in DIR_CASES])
def test_directory_matches_js(case: DirCase, dir_answers: dict[str, Any], kubo_file: Callable[[str, int], Path]) -> None:
    tree = build_python_tree(case, kubo_file)
    check_shard_design(tree, case)
    answer = dir_answers[case.id]
    assert_same_root(tree.root, js_result(answer, ROOT))
    assert_same_blocks(tree.sink, answer)
    # the shapes the case is meant to exercise (same CIDs, so these hold on both sides)
    for path in case.sharded:
        assert unixfs_type(tree.sink, tree.dirs[path]) == unixfs.HAMT_SHARD, f"{path!r} should be a HAMT shard"
    for path in case.flat:
        assert unixfs_type(tree.sink, tree.dirs[path]) == unixfs.DIRECTORY, f"{path!r} should be a plain directory"
    for path in case.subshard:
        assert has_subshard(tree.sink, tree.dirs[path]), f"{path!r} should contain a sub-shard"
    for path in case.deep_subshard:
        assert shard_depth(tree.sink, tree.dirs[path].cid) >= 3, f"{path!r} should have sub-sub-shards"
    if case.exact_estimate is not None and case.mode.py.shard_estimate == "block" and not case.sharded:
        # the "block" estimate is the exact size of the plain directory block
        assert len(tree.sink.blocks[tree.root.cid]) == case.exact_estimate


def test_directory_cases_cover_unicode_and_empties() -> None:
    """The random trees really contain what they are meant to test."""
    random_cases = [c for c in DIR_CASES if "/random-tree-" in c.id]
    names = [p for c in random_cases for p, _, _ in c.files] + [p for c in random_cases for p in c.empty_dirs]
    assert any(max(map(ord, p)) > 0xFFFF for p in names)  # four-byte UTF-8
    assert any(0x7F < max(map(ord, p)) <= 0x7FF for p in names)
    assert all(c.empty_dirs for c in random_cases)
    assert all(any(size == 0 for _, _, size in c.files) for c in random_cases)
    assert all(any(p.count("/") >= 2 for p, _, _ in c.files) for c in random_cases)
