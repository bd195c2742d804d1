"""roles/runtime/files/openpgp_fingerprints.py, the check of Docker's release key before it is trusted.

Keys are generated with gpg in a throwaway home; the script's fingerprints must be the ones gpg prints,
for armored and binary files, several keys in one file, and armor with header lines.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "runtime" / "files" / "openpgp_fingerprints.py"


def gpg(home, *args, **kwargs):
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", *args], check=True, capture_output=True, **kwargs)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two generated keys: their fingerprints, and armored and binary exports."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    try:
        for uid, algo in (("One <one@example.invalid>", "ed25519"), ("Two <two@example.invalid>", "rsa2048")):
            gpg(home, "--passphrase", "", "--quick-gen-key", uid, algo, "sign", "never")
        listing = gpg(home, "--with-colons", "--list-keys", text=True).stdout
        fingerprints, primary = [], False
        for line in listing.splitlines():
            fields = line.split(":")
            if fields[0] == "pub":
                primary = True
            elif fields[0] == "fpr" and primary:
                fingerprints.append(fields[9])
                primary = False
        one = gpg(home, "--armor", "--export", fingerprints[0]).stdout
        both = gpg(home, "--export").stdout
        return {"fingerprints": fingerprints, "armored_one": one, "binary_both": both}
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def run(path):
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, check=False)
    return proc.returncode, json.loads(proc.stdout)


def test_armored_key(keys, tmp_path):
    path = tmp_path / "key.asc"
    path.write_bytes(keys["armored_one"])
    assert run(path) == (0, {"fingerprints": [keys["fingerprints"][0]]})


def test_binary_keyring_with_two_keys(keys, tmp_path):
    path = tmp_path / "keys.gpg"
    path.write_bytes(keys["binary_both"])
    code, doc = run(path)
    assert code == 0 and sorted(doc["fingerprints"]) == sorted(keys["fingerprints"])


def test_armor_with_headers_and_a_second_block(keys, tmp_path):
    text = keys["armored_one"].decode()
    with_headers = text.replace("-----\n", "-----\nComment: a mirror's copy\nVersion: x\n", 1)
    other = tmp_path / "other.gpg"
    other.write_bytes(keys["binary_both"])
    second = subprocess.run(["gpg", "--enarmor"], input=keys["binary_both"], capture_output=True, check=True).stdout
    path = tmp_path / "keys.asc"
    path.write_text(with_headers + second.decode().replace("ARMORED FILE", "PUBLIC KEY BLOCK"))
    code, doc = run(path)
    assert code == 0
    assert doc["fingerprints"][0] == keys["fingerprints"][0]
    assert sorted(doc["fingerprints"][1:]) == sorted(keys["fingerprints"])


GARBAGE = [b"", b"not a key at all\n", b"\x99\x01", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!\n"]


@pytest.mark.parametrize("content", GARBAGE)
def test_garbage_is_an_error_not_a_fingerprint(tmp_path, content):
    path = tmp_path / "bad"
    path.write_bytes(content)
    code, doc = run(path)
    assert code == 1 and "fingerprints" not in doc and str(path) in doc["error"]


def test_missing_file(tmp_path):
    code, doc = run(tmp_path / "absent")
    assert code == 1 and "No such file" in doc["error"]
