"""Hashing load without requests: production argon2id in N threads, to separate CPU contention from the app.

Run as `python -m bench.cpuload THREADS HASHES`; each thread computes HASHES hashes and stops.
"""

from __future__ import annotations

import sys
import threading

from argon2 import PasswordHasher, Type

from core.config import PasswordProfile


def burn(hashes: int) -> None:
    profile = PasswordProfile()
    hasher = PasswordHasher(
        time_cost=profile.time_cost,
        memory_cost=profile.memory_cost_kib,
        parallelism=profile.parallelism,
        type=Type.ID,
    )
    for _ in range(hashes):
        hasher.hash("bench cpu load password")


def main() -> None:
    threads, hashes = int(sys.argv[1]), int(sys.argv[2])
    workers = [threading.Thread(target=burn, args=(hashes,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
