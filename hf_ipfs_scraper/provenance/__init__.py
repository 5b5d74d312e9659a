"""Provenance: which repo derives from, was trained on or uses which, as a networkx graph.

``edges`` extracts a record's edges (pure), ``tracker`` stores them and answers queries, ``draw``
pictures a family tree, ``export`` writes GraphML, node-link JSON and a Parquet edge table.
"""

from .edges import BASE_RELATIONS, RELATIONS, Extraction, extract
from .tracker import ProvenanceTracker, Step

__all__ = ["BASE_RELATIONS", "RELATIONS", "Extraction", "ProvenanceTracker", "Step", "extract"]
