"""hf-ipfs-scraper: archive Hugging Face Hub repositories into IPFS."""
