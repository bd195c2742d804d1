#!/usr/bin/env python
"""Controller CPU to build a module's AnsiballZ payload (issue 25), as each ansible-playbook run pays once per module.

Each build gets a fresh local temp dir, so the payload cache of an earlier build is not used (a new
ansible-playbook process starts without one). Prints the CPU seconds of 3 builds and the payload size.

  .venv/bin/python bench/payload_cost.py [ansible.builtin.ping berth.engine.stack ...]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))

from ansible import constants as C  # noqa: E402
from ansible.executor.module_common import modify_module  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import init_plugin_loader, module_loader  # noqa: E402
from ansible.template import Templar  # noqa: E402


def main(names):
    init_plugin_loader([str(ROOT / "collections")])
    templar = Templar(loader=DataLoader())
    for name in names:
        path = module_loader.find_plugin_with_context(name).plugin_resolved_path
        cpu = []
        for _round in range(3):
            C.DEFAULT_LOCAL_TMP = tempfile.mkdtemp(prefix="berth-payload-")
            start = time.process_time()
            built = modify_module(module_name=name, module_path=path, module_args={"name": "x"}, templar=templar,
                                  task_vars={"ansible_python_interpreter": sys.executable})
            cpu.append(time.process_time() - start)
        rounds = " ".join("%.3f" % c for c in cpu)
        print("%-28s payload build CPU %s s, %d bytes" % (name, rounds, len(built.b_module_data)))


if __name__ == "__main__":
    main(sys.argv[1:] or ["ansible.builtin.ping", "berth.engine.stack", "berth.engine.swarm_stack"])
