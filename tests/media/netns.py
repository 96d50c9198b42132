"""Network namespaces for real WebRTC peers: a loopback that also carries 127.0.0.2, since aioice never
offers 127.0.0.1 as a candidate. Needs root (CAP_SYS_ADMIN) and iproute2; packet loss also needs nftables.

The hub and its peers run in the namespace either by entering it on the calling thread (`entered()`, for
tests that drive the hub in-process: sockets opened meanwhile belong to the namespace) or in a child
process started with `ip netns exec` (`command()`, for benchmarks).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
LOSS_TABLE = "kokous_loss"


class Unavailable(Exception):  # noqa: N818 - read as `except Unavailable`, like core.errors
    """This machine cannot make a namespace (not root, no iproute2, no nftables for loss)."""


def _run(*args: str) -> str:
    if shutil.which(args[0]) is None:
        raise Unavailable(f"{args[0]} is missing: install Debian's iproute2 and nftables (make media-deps)")
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    if done.returncode != 0:
        raise Unavailable(f"`{' '.join(args)}` failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise Unavailable(f"setns failed: {os.strerror(error)}")


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str

    @classmethod
    def create(cls, name: str) -> Namespace:
        _run("ip", "netns", "add", name)
        namespace = cls(name)
        try:
            _run("ip", "-n", name, "addr", "add", "127.0.0.2/8", "dev", "lo")
            _run("ip", "-n", name, "link", "set", "lo", "up")
        except Unavailable:
            namespace.remove()
            raise
        return namespace

    def remove(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False, timeout=30)  # noqa: S603, S607

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Run the calling thread in the namespace until the block ends."""
        with open("/proc/thread-self/ns/net", "rb") as home, open(f"/run/netns/{self.name}", "rb") as target:
            _setns(target.fileno())
            try:
                yield
            finally:
                _setns(home.fileno())

    def nft(self, script: str) -> str:
        if shutil.which("nft") is None:
            raise Unavailable("nft is missing: install Debian's nftables (make media-deps)")
        return _run("ip", "netns", "exec", self.name, "nft", script)

    @contextmanager
    def losing(self, percent: int) -> Iterator[LossCounter]:
        """Drop `percent` % of the UDP packets on the namespace's loopback, at random, until the block ends.

        This kernel has no `sch_netem` (tc's netem qdisc); nftables' random number generator drops packets
        at the same place, with a counter that shows the loss really happened.
        """
        self.nft(
            f"add table inet {LOSS_TABLE}; "
            f"add chain inet {LOSS_TABLE} out {{ type filter hook output priority 0; }}; "
            f"add rule inet {LOSS_TABLE} out meta l4proto udp numgen random mod 100 < {percent} counter drop"
        )
        try:
            yield LossCounter(self)
        finally:
            self.nft(f"delete table inet {LOSS_TABLE}")

    @contextmanager
    def cut(self, port: int) -> Iterator[None]:
        """Drop every UDP packet to or from `port` (one peer's connection) until the block ends."""
        table = f"kokous_cut_{port}"
        self.nft(
            f"add table inet {table}; "
            f"add chain inet {table} out {{ type filter hook output priority 0; }}; "
            f"add rule inet {table} out udp sport {port} drop; "
            f"add rule inet {table} out udp dport {port} drop"
        )
        try:
            yield
        finally:
            self.nft(f"delete table inet {table}")


@dataclass(frozen=True, slots=True)
class LossCounter:
    namespace: Namespace

    def dropped(self) -> int:
        listing = self.namespace.nft(f"list table inet {LOSS_TABLE}")
        words = listing.split()
        return int(words[words.index("packets") + 1])
