"""Export an archive to Parquet and query it three ways — DuckDB, pandas, polars — as in a notebook.

    python examples/query_export.py [--output-dir ./hf_mirror] [--base org/name]

Reads an archive an earlier mirror made (e.g. `hf-ipfs-scraper all`); needs no network.
"""

from __future__ import annotations

import argparse

import duckdb
import pandas as pd
import polars as pl

from hf_ipfs_scraper import Catalog, load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", default=None)
    parser.add_argument("--base", default=None, help="list the models derived from this base model")
    args = parser.parse_args()

    config = load_config(overrides={"output_dir": args.output_dir})
    with Catalog(config.output_dir) as catalog:
        result = catalog.export()
    export = result.directory
    print(f"exported {result.rows['all_entities.parquet']} entities to {export}")

    # DuckDB: the 10 largest mirrored models per pipeline tag
    largest = duckdb.sql(f"""
        SELECT pipeline_tag, id, size_bytes FROM '{export / "models.parquet"}'
        WHERE size_bytes IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY pipeline_tag ORDER BY size_bytes DESC, id) <= 10
        ORDER BY pipeline_tag, size_bytes DESC""").fetchall()
    print("\nlargest models per pipeline tag (DuckDB):")
    for tag, repo_id, size in largest:
        print(f"  {tag or '-':<28} {size / 1e6:>9.1f} MB  {repo_id}")

    # pandas: entities per type and status, and the most liked datasets
    frame = pd.read_parquet(export / "all_entities.parquet")
    print("\nentities by type and status (pandas):")
    print(frame.groupby(["entity_type", "status"]).size().to_string())
    liked = frame[frame.entity_type == "dataset"].nlargest(3, "likes")[["id", "likes", "license"]]
    print("\nmost liked datasets (pandas):\n" + liked.to_string(index=False))

    # polars: the models derived from a base (its direct derivatives), with how
    models = pl.read_parquet(export / "models.parquet")
    base = args.base or (models.explode("base_models").drop_nulls("base_models")
                         .group_by("base_models").len().sort(["len", "base_models"], descending=[True, False])
                         .select("base_models").head(1).to_series().to_list() or [None])[0]
    if base is None:
        print("\nno model of this archive names a base model")
        return
    derived = (models.filter(pl.col("base_models").list.contains(base))
               .select("id", "base_model_relation", "downloads").sort("id"))
    print(f"\nmodels whose base is {base} (polars):")
    for repo_id, relation, downloads in derived.iter_rows():
        print(f"  {repo_id}  ({relation}, {downloads} downloads)")


if __name__ == "__main__":
    main()
