import types

import hf_ipfs_scraper


def test_all_is_exactly_the_public_names() -> None:
    """Every public non-module attribute is in ``__all__`` and everything in ``__all__`` exists."""
    public = {
        name
        for name in dir(hf_ipfs_scraper)
        if not name.startswith("_") and not isinstance(getattr(hf_ipfs_scraper, name), types.ModuleType)
    }
    assert set(hf_ipfs_scraper.__all__) == public
    for name in hf_ipfs_scraper.__all__:
        assert getattr(hf_ipfs_scraper, name).__module__.startswith("hf_ipfs_scraper.")
