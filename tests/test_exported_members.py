import hf_ipfs_scraper


def test_all_is_exactly_the_public_names() -> None:
    public = {name for name in dir(hf_ipfs_scraper) if not name.startswith("_")}
    modules = {"cli", "config", "errors", "ipfs", "storage"}
    assert set(hf_ipfs_scraper.__all__) == public - modules
    for name in hf_ipfs_scraper.__all__:
        assert getattr(hf_ipfs_scraper, name).__module__.startswith("hf_ipfs_scraper.")
