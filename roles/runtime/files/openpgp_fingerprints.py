"""Print the fingerprints of the primary keys in an OpenPGP key file (armored or binary) as JSON.

Used by the runtime role to check Docker's release key before apt or dnf trusts it,
without needing gpg on the host. Usage: openpgp_fingerprints.py FILE
Prints {"fingerprints": ["9DC8...CD88", ...]}, or {"error": "..."} with exit status 1 when the file
cannot be read or holds no public key.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sys

PUBLIC_KEY = 6
# Fingerprint prefix byte and hash per key version (RFC 4880 v4, RFC 9580 v6, draft v5).
FINGERPRINT = {4: (b"\x99", 2, hashlib.sha1), 5: (b"\x9a", 4, hashlib.sha256), 6: (b"\x9b", 4, hashlib.sha256)}


def dearmor(text):
    """The bytes of every ASCII-armored block in text (headers and checksum lines skipped)."""
    blocks, lines, state = [], [], "out"
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("-----BEGIN PGP"):
            state, lines = "headers", []
        elif line.startswith("-----END PGP") and state != "out":
            blocks.append(base64.b64decode("".join(lines)))
            state = "out"
        elif state == "headers" and ":" not in line:
            state = "body"  # a blank line ends the headers; some writers leave both out
            lines = [line] if line else []
        elif state == "body" and line and not line.startswith("="):
            lines.append(line)
    return b"".join(blocks)


def packets(data):
    """(tag, body) of each packet; ValueError on a malformed stream."""
    pos = 0
    while pos < len(data):
        first = data[pos]
        if not first & 0x80:
            raise ValueError("not an OpenPGP packet at byte %d" % pos)
        if first & 0x40:  # new format
            tag, octet = first & 0x3F, data[pos + 1]
            if octet < 192:
                length, header = octet, 2
            elif octet < 224:
                length, header = ((octet - 192) << 8) + data[pos + 2] + 192, 3
            elif octet == 255:
                length, header = int.from_bytes(data[pos + 2:pos + 6], "big"), 6
            else:
                raise ValueError("partial body length in a key file at byte %d" % pos)
        else:  # old format
            tag, kind = (first >> 2) & 0x0F, first & 0x03
            if kind == 3:
                length, header = len(data) - pos - 1, 1
            else:
                size = (1, 2, 4)[kind]
                length, header = int.from_bytes(data[pos + 1:pos + 1 + size], "big"), 1 + size
        body = data[pos + header:pos + header + length]
        if len(body) != length:
            raise ValueError("truncated packet at byte %d" % pos)
        yield tag, body
        pos += header + length


def fingerprints(data):
    found = []
    for tag, body in packets(data):
        if tag != PUBLIC_KEY:
            continue
        if not body or body[0] not in FINGERPRINT:
            raise ValueError("unsupported key version %s" % (body[0] if body else "(empty)"))
        prefix, size, digest = FINGERPRINT[body[0]]
        found.append(digest(prefix + len(body).to_bytes(size, "big") + body).hexdigest().upper())
    if not found:
        raise ValueError("no OpenPGP public key in it")
    return found


def main(path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        data = raw if raw[:1] and raw[0] & 0x80 else dearmor(raw.decode("ascii", "replace"))
        result = {"fingerprints": fingerprints(data)}
    except (OSError, ValueError, IndexError, binascii.Error) as exc:
        result = {"error": "%s: %s" % (path, exc)}
    print(json.dumps(result))
    return 0 if "fingerprints" in result else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
