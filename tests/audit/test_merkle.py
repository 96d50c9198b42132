"""RFC 9162 Merkle tree hashes against the published Certificate Transparency test vectors."""

import hashlib

import pytest

from audit.merkle import Frontier, leaf_hash, root_of

# The eight leaves and their roots for sizes 1..8 used by RFC 6962/9162 implementations' tests.
LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(bytes.fromhex(x)) for x in LEAVES[:n]]


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert root_of([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_root_matches_published_vector(size: int) -> None:
    assert root_of(leaves(size)).hex() == ROOTS[size - 1]


def test_frontier_gives_every_prefix_root_in_one_pass() -> None:
    frontier = Frontier()
    for size, leaf in enumerate(leaves(8), start=1):
        frontier.append(leaf)
        assert frontier.root().hex() == ROOTS[size - 1]


@pytest.mark.parametrize("size", range(0, 9))
def test_frontier_resumes_from_its_saved_hashes(size: int) -> None:
    saved = Frontier()
    for leaf in leaves(size):
        saved.append(leaf)
    resumed = Frontier(saved.size, saved.hashes())
    for leaf in leaves(8)[size:]:
        resumed.append(leaf)
    assert resumed.root().hex() == ROOTS[7]
