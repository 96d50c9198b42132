"""Serves the real app for the login storm, with production hashing and a raised per-address limit.

Run as `python -m bench.server --fd N --data-dir D`: the parent binds 127.0.0.1 on a free port and
passes the listening socket down, so there is no race for the port. Settings are built here rather
than from KOKOUS_* variables because the environment cannot raise `address_attempts_per_window`:
all benchmark logins come from 127.0.0.1, and the default (30 per 300 s) would refuse most of them.
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

import uvicorn

from core.config import PasswordProfile, Settings
from web.app import create_app

ATTEMPTS_PER_WINDOW = 1_000_000


def bench_settings(data_dir: Path, port: int) -> Settings:
    """The defaults that matter (argon2 profile, hash concurrency) stay as in production."""
    return Settings(
        data_dir=data_dir,
        base_url=f"http://127.0.0.1:{port}",
        address_attempts_per_window=ATTEMPTS_PER_WINDOW,
        password_profile=PasswordProfile(),
        log_level="WARNING",
        # KOKOUS_SQLITE_INLINE_READS=0 measures the pages with plain aiosqlite reads (decision 0006).
        sqlite_inline_reads=os.environ.get("KOKOUS_SQLITE_INLINE_READS", "1") != "0",
    )


def serve(fd: int, data_dir: Path) -> None:
    sock = socket.socket(fileno=fd)
    port = sock.getsockname()[1]
    app = create_app(bench_settings(data_dir, port))
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="an inherited listening socket")
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    serve(args.fd, args.data_dir)


if __name__ == "__main__":
    main()
