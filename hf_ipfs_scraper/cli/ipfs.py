"""``hf-ipfs-scraper ipfs ...``: Kubo's commands and output over the embedded store.

Flags and printed lines follow Kubo (``added <cid> <path>``, ``-Q`` for the root CID only,
``--pin=false``), so IPFS users need nothing new. ``--store`` defaults to ``<output_dir>/ipfs``.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Iterator, Sequence

from ..config import Config
from ..errors import InvalidInputError
from ..ipfs.options import PROFILES, ImportOptions

if TYPE_CHECKING:  # the store loads when a command opens it, not at every command's start
    from ..storage.embedded import EmbeddedStore


_KUBO_BOOLS: set[str] = set()  # the names _kubo_flag registered, for spell_kubo_bools
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _kubo_flag(parser: argparse.ArgumentParser, name: str, help: str) -> None:
    """``--name``, ``--name=false`` (Kubo's spelling) and ``--no-name`` all work. The flag takes
    no argument of its own — a value comes only after ``=``, as in Kubo — so ``--name PATH``
    leaves ``PATH`` to the positional arguments (see :func:`spell_kubo_bools`)."""
    _KUBO_BOOLS.add(name)
    dest = name.replace("-", "_")
    parser.add_argument(f"--{name}", dest=dest, action="store_true", default=None, help=help)
    parser.add_argument(f"--no-{name}", dest=dest, action="store_false", help=argparse.SUPPRESS)


def spell_kubo_bools(argv: Sequence[str]) -> list[str]:
    """``--name=true|false`` (any case; 1/0, yes/no) as ``--name`` / ``--no-name``, for the flags
    :func:`_kubo_flag` made; another value is left for argparse to refuse in one line."""
    out = []
    for item in argv:
        name, eq, value = item[2:].partition("=")
        if item.startswith("--") and eq and name in _KUBO_BOOLS and value.lower() in (*_TRUE, *_FALSE):
            item = f"--{name}" if value.lower() in _TRUE else f"--no-{name}"
        out.append(item)
    return out


def register(groups: Any) -> None:
    ipfs = groups.add_parser("ipfs", help="Kubo-compatible content store commands (add, cat, dag, pin, repo)")
    ipfs.add_argument("--store", metavar="DIR", help="block store directory (default <output_dir>/ipfs)")
    cmds = ipfs.add_subparsers(dest="ipfs_cmd", metavar="CMD", required=True)

    add = cmds.add_parser("add", help="add files or directories", epilog="example: ipfs add -r -Q ./model")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("-r", "--recursive", action="store_true", help="add directories recursively")
    add.add_argument("-H", "--hidden", action="store_true", help="include files whose names start with '.'")
    add.add_argument("-q", "--quiet", action="store_true", help="print only CIDs")
    add.add_argument("-Q", "--quieter", action="store_true", help="print only the final root CID")
    add.add_argument("-n", "--only-hash", action="store_true", help="compute CIDs without storing anything")
    add.add_argument("--cid-version", type=int, choices=[0, 1], help="CID version (1 turns on raw leaves)")
    _kubo_flag(add, "raw-leaves", "leaves as raw blocks instead of UnixFS file nodes")
    add.add_argument("--chunker", metavar="size-N", help="fixed chunk size in bytes, e.g. size-262144")
    add.add_argument("--profile", choices=PROFILES, help="Kubo import profile (default from config)")
    _kubo_flag(add, "pin", "pin the added root (default true)")
    add.add_argument("--pin-name", help="name recorded with the pin")
    add.set_defaults(run=_add)

    cat = cmds.add_parser("cat", help="print a file's bytes", epilog="example: ipfs cat <dir-cid>/config.json")
    cat.add_argument("target", metavar="CID[/PATH]")
    cat.set_defaults(run=_cat)

    ls = cmds.add_parser("ls", help="list a directory")
    ls.add_argument("target", metavar="CID[/PATH]")
    ls.set_defaults(run=_ls)

    dag = cmds.add_parser("dag", help="CAR export and import").add_subparsers(dest="dag_cmd", required=True)
    export = dag.add_parser("export", help="write a DAG as a CAR v1 file", epilog="example: ipfs dag export <cid> > x.car")
    export.add_argument("target", metavar="CID[/PATH]")
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout (removed on failure)")
    export.set_defaults(run=_dag_export)
    imp = dag.add_parser("import", help="import CAR files; every block is verified", epilog="example: ipfs dag import x.car")
    imp.add_argument("files", nargs="*", metavar="FILE", help="CAR files ('-' or none: standard input)")
    _kubo_flag(imp, "pin-roots", "pin the CAR's roots (default true)")
    imp.set_defaults(run=_dag_import)

    pin = cmds.add_parser("pin", help="manage pins").add_subparsers(dest="pin_cmd", required=True)
    pin_ls = pin.add_parser("ls", help="list pins")
    pin_ls.set_defaults(run=_pin_ls)
    pin_add = pin.add_parser("add", help="pin a DAG recursively")
    pin_add.add_argument("target", metavar="CID[/PATH]")
    pin_add.add_argument("--name", help="a name to remember the pin by")
    pin_add.set_defaults(run=_pin_add)
    pin_rm = pin.add_parser("rm", help="remove a pin")
    pin_rm.add_argument("target", metavar="CID")
    pin_rm.set_defaults(run=_pin_rm)

    repo = cmds.add_parser("repo", help="store maintenance").add_subparsers(dest="repo_cmd", required=True)
    repo.add_parser("verify", help="re-hash every block; report corrupt and missing ones").set_defaults(run=_repo_verify)
    repo.add_parser("gc", help="remove blocks no pin reaches").set_defaults(run=_repo_gc)
    repo.add_parser("stat", help="block count, bytes stored, dedup ratio").set_defaults(run=_repo_stat)


@contextmanager
def _store(args: argparse.Namespace, config: Config, *, readonly: bool) -> Iterator[EmbeddedStore]:
    from ..storage.embedded import EmbeddedStore

    path = Path(args.store) if args.store else config.store_path
    store = EmbeddedStore(path, options=ImportOptions.profile(config.store_profile), readonly=readonly, create=not readonly)
    try:
        yield store
    finally:
        store.close()


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _add(args: argparse.Namespace, config: Config) -> int:
    options = ImportOptions.from_kubo_flags(
        profile=args.profile or config.store_profile,
        cid_version=args.cid_version,
        raw_leaves=args.raw_leaves,
        chunker=args.chunker,
    )
    pin = args.pin is not False

    def show(entry: Any) -> None:
        if not args.quieter:
            _out(str(entry.cid) if args.quiet else f"added {entry.cid} {entry.path}")

    last = None
    for path in args.paths:
        if args.only_hash:
            from ..ipfs.fsimport import add_path
            from ..ipfs.sink import NullSink

            last = add_path(path, NullSink(), options, recursive=args.recursive, hidden=args.hidden, on_entry=show)
            continue
        with _store(args, config, readonly=False) as store:
            last = store.add_path(
                path, recursive=args.recursive, hidden=args.hidden, options=options, pin=pin,
                pin_name=args.pin_name, on_entry=show,
            )
    if args.quieter and last is not None:
        _out(str(last.cid))
    return 0


def _cat(args: argparse.Namespace, config: Config) -> int:
    with _store(args, config, readonly=True) as store:
        out = sys.stdout.buffer
        for chunk in store.cat(args.target):
            out.write(chunk)
        out.flush()
    return 0


def _ls(args: argparse.Namespace, config: Config) -> int:
    with _store(args, config, readonly=True) as store:
        for entry in store.ls(args.target):
            _out(f"{entry.cid} {entry.tsize} {entry.name}")
    return 0


def _dag_export(args: argparse.Namespace, config: Config) -> int:
    with _store(args, config, readonly=True) as store:
        if not args.output:
            store.export_car(args.target, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return 0
        try:
            with open(args.output, "wb") as fh:
                store.export_car(args.target, fh)
        except BaseException:
            Path(args.output).unlink(missing_ok=True)
            raise
    return 0


def _dag_import(args: argparse.Namespace, config: Config) -> int:
    files = args.files or ["-"]
    with _store(args, config, readonly=False) as store:
        for name in files:
            if name == "-":
                result = store.import_car(sys.stdin.buffer, pin_roots=args.pin_roots is not False)
            else:
                try:
                    fh: BinaryIO = open(name, "rb")
                except OSError as exc:
                    raise InvalidInputError(f"cannot read {name}: {exc.strerror}") from exc
                with fh:
                    result = store.import_car(fh, pin_roots=args.pin_roots is not False)
            for root in result.roots:
                _out(f"Pinned root\t{root}\tsuccess" if args.pin_roots is not False else f"Imported root\t{root}")
    return 0


def _pin_ls(args: argparse.Namespace, config: Config) -> int:
    with _store(args, config, readonly=True) as store:
        for pin in store.pins():
            _out(f"{pin.cid} recursive" + (f" {pin.name}" if pin.name else ""))
    return 0


def _pin_add(args: argparse.Namespace, config: Config) -> int:
    with _store(args, config, readonly=False) as store:
        cid = store.resolve(args.target)
        store.pin(cid, args.name)
        _out(f"pinned {cid} recursively")
    return 0


def _pin_rm(args: argparse.Namespace, config: Config) -> int:
    from ..ipfs.cid import CID

    with _store(args, config, readonly=False) as store:
        cid = CID.parse(args.target)
        store.unpin(cid)
        _out(f"unpinned {cid}")
    return 0


def _repo_verify(args: argparse.Namespace, config: Config) -> int:
    with _store(args, config, readonly=True) as store:
        report = store.verify()
    for key in report.corrupt:
        _out(f"corrupt block: {key}")
    for cid in report.missing:
        _out(f"missing block: {cid}")
    if report.ok:
        _out(f"verify complete, all {report.checked} blocks validated.")
        return 0
    print(f"Error: verify found {len(report.corrupt)} corrupt and {len(report.missing)} missing blocks", file=sys.stderr)
    return 1


def _repo_gc(args: argparse.Namespace, config: Config) -> int:
    with _store(args, config, readonly=False) as store:
        result = store.gc()
    _out(f"removed {result.removed} blocks ({result.freed_bytes} bytes)")
    return 0


def _repo_stat(args: argparse.Namespace, config: Config) -> int:
    with _store(args, config, readonly=True) as store:
        st = store.stat()
    _out(f"NumObjects:        {st.blocks}")
    _out(f"RepoSize:          {st.bytes_stored}")
    _out(f"LogicalBytesAdded: {st.logical_bytes_added}")
    _out(f"DedupRatio:        {st.dedup_ratio:.3f}")
    _out(f"Pins:              {st.pins}")
    _out(f"RepoPath:          {store.path}")
    return 0
