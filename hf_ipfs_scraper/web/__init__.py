"""The HTTP face of an archive: ``create_app`` (``web/app.py``) builds a FastAPI app over one
read-only ``Catalog``; each ``web/`` module contributes one ``APIRouter`` (``web/hub.py``: the
Hub-compatible reads ``huggingface_hub`` understands). ``hf-ipfs-scraper serve`` runs it."""
