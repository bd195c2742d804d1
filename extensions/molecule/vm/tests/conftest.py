"""The vm scenario's tests live in one directory per step (Molecule's verify
runs one of them at a time); vm_support beside this file serves them all."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
