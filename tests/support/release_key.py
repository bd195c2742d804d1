"""Stand-ins for Docker's release key and download site: a gpg-generated key, served on 127.0.0.1.

Docker's site is unreachable from the tests; the runtime role's key check is exercised with a key of
our own (its fingerprint known from gpg) and a local HTTP server for the berth_upstream_gpg_key_url path.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReleaseKey:
    armored: bytes  # ASCII-armored public key
    fingerprint: str  # 40 hex digits, as gpg prints it


def make_release_key(directory: Path, uid: str = "Berth Test Release <release@example.invalid>") -> ReleaseKey:
    """A fresh signing key in a throwaway gpg home under directory (its agent is stopped afterwards)."""
    home = directory / "gnupg"
    home.mkdir(mode=0o700, parents=True)
    gpg = ["gpg", "--homedir", str(home), "--batch"]
    try:
        subprocess.run(gpg + ["--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"],
                       check=True, capture_output=True)
        listing = subprocess.run(gpg + ["--with-colons", "--list-keys"], check=True, capture_output=True,
                                 text=True).stdout
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        armored = subprocess.run(gpg + ["--armor", "--export"], check=True, capture_output=True).stdout
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True)
    return ReleaseKey(armored=armored, fingerprint=fingerprint)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@contextlib.contextmanager
def serve_directory(directory: Path):
    """Serve directory over HTTP on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
