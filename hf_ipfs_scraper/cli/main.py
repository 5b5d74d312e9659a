"""``hf-ipfs-scraper``: parse, make one core call, turn expected failures into one line.

Exit codes: 0 success; 1 an operation failed (bad CID, missing block, corrupt CAR, locked store,
the Hub unreachable); 2 bad usage or bad configuration; 3 a mirror run completed but some repos
failed; 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from ..config import load_config
from ..errors import ConfigError, HfIpfsError
from . import export as export_commands
from . import ipfs as ipfs_commands
from . import mirror as mirror_commands
from . import provenance as provenance_commands
from . import search as search_commands
from . import serve as serve_commands
from . import snapshot as snapshot_commands
from . import walk as walk_commands

EXIT_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
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
    mirror_commands.register(groups)
    provenance_commands.register(groups)
    export_commands.register(groups)
    search_commands.register(groups)
    ipfs_commands.register(groups)
    serve_commands.register(groups)
    snapshot_commands.register(groups)
    walk_commands.register(groups)
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
    parser = build_parser()
    args = parser.parse_args(ipfs_commands.spell_kubo_bools(_join_dashed(sys.argv[1:] if argv is None else argv)))
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
