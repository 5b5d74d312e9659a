"""``hf-ipfs-scraper``: parse, make one core call, turn expected failures into one line.

Exit codes: 0 success; 1 an operation failed (bad CID, missing block, corrupt CAR, locked store,
the Hub unreachable); 2 bad usage or bad configuration; 3 a mirror run completed but some repos
failed; 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from ..config import load_config
from ..errors import ConfigError, HfIpfsError

EXIT_FAILED = 1
EXIT_USAGE = 2

#: the modules under ``cli/`` whose ``register(groups)`` add commands, in ``--help`` order
_MODULES = ("mirror", "provenance", "export", "search", "ipfs", "serve", "snapshot", "walk")
#: each command -> the module that registers it. A run builds only its own module's arguments:
#: building all eight modules' cost 5-9 ms at every start (the issue-11 start target is 100 ms)
_OWNER = {
    "models": "mirror", "datasets": "mirror", "spaces": "mirror", "all": "mirror", "sync": "mirror",
    "status": "mirror", "trending": "mirror", "provenance": "provenance", "export": "export",
    "search": "search", "reindex": "search", "ipfs": "ipfs", "serve": "serve", "snapshots": "snapshot",
    "restore": "snapshot", "prune": "snapshot", "catalog": "walk",
}
#: the top-level options that take a value, spelt in full (an abbreviation builds the whole parser)
_GLOBAL_VALUED = ("--config", "--output-dir", "--log-level")


def _command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs, when it is plainly one; None (-> the whole parser) for ``--help``,
    an unknown or abbreviated option or an unknown command, so argparse's messages stay whole."""
    i = 0
    while i < len(argv):
        item = argv[i]
        if item in _GLOBAL_VALUED:
            i += 2
        elif item.partition("=")[0] in _GLOBAL_VALUED and "=" in item:
            i += 1
        else:
            return item if item in _OWNER else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser: every command's arguments, or with ``command`` only those of the module
    that registers it (and its sibling commands)."""
    parser = argparse.ArgumentParser(
        prog="hf-ipfs-scraper",
        description="Archive Hugging Face Hub repositories into IPFS with Kubo-identical CIDs.",
        epilog="example: hf-ipfs-scraper models --limit 10",
    )
    parser.add_argument("--config", metavar="FILE", help="TOML config file (see config.example.toml)")
    parser.add_argument("--output-dir", metavar="DIR", help="output directory (default ./hf_mirror)")
    parser.add_argument(
        "--log-level", default="WARNING", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (any case: debug, INFO...)"
    )
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for name in _MODULES if command is None else (_OWNER[command],):
        importlib.import_module(f"{__package__}.{name}").register(groups)
    return parser


# Options whose value may start with "-" (``--sort -trending_score``): argparse would take that for
# an option, so such a pair is joined into ``--sort=-trending_score`` before parsing.
_DASHED_VALUES = ("--sort",)


def _join_dashed(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        if items[i] in _DASHED_VALUES and i + 1 < len(items) and items[i + 1].startswith("-") and items[i + 1] != "--":
            out.append(f"{items[i]}={items[i + 1]}")
            i += 2
            continue
        out.append(items[i])
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    items = _join_dashed(sys.argv[1:] if argv is None else argv)
    command = _command(items)
    parser = build_parser(command)
    if command in (None, "ipfs"):
        from .ipfs import spell_kubo_bools  # its flags are known once its module has registered

        items = spell_kubo_bools(items)
    args = parser.parse_args(items)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    if args.log_level != "DEBUG":  # one line per HTTP request is debugging detail
        logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("huggingface_hub").propagate = False  # it has its own handler: no double lines
    try:
        overrides = {"output_dir": args.output_dir}
        if hasattr(args, "overrides"):
            overrides |= args.overrides(args)
        config = load_config(args.config, overrides=overrides)
        return int(args.run(args, config) or 0)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HfIpfsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader went away, which is not our failure
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
