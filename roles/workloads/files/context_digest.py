#!/usr/bin/env python
"""Print one SHA-256 digest of a directory tree on the controller.

The workloads role runs this through the `pipe` lookup to tell, without a
module call on the host, whether a build context has to be laid out again.
The digest covers every file's path relative to the directory and its
content; timestamps, owners and modes do not count (the role lays every file
out 0644), so a fresh checkout gives the same digest.
"""

import hashlib
import os
import sys


def tree_digest(root):
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()  # os.walk visits them in this order
        for name in sorted(files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            digest.update(f"{relative}\0".encode())
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def main(argv):
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        sys.stderr.write(f"usage: {argv[0]} DIRECTORY (an existing directory)\n")
        return 2
    print(tree_digest(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
