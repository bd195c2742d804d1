"""Helpers of the vm scenario's tests: run site.yml (or a playbook) against the VM
the way a user would, with Molecule's inventory, and read the VM as root
through sudo (testinfra logs in as admin)."""

import os

from tests.support.ansible import run_playbook

HOST = "vm"
GRUB_DROPIN = "/etc/default/grub.d/90-berth-cgroup.cfg"
V1_PARAM = "systemd.unified_cgroup_hierarchy=0"
V2_PARAM = "systemd.unified_cgroup_hierarchy=1"


def play(playbook, **extra_vars):
    """ansible-playbook PLAYBOOK against the scenario's VM; a PlaybookRun."""
    return run_playbook(
        playbook,
        inventory=os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]),
        extra_vars=extra_vars or None,
        extra_env={"ANSIBLE_TIMEOUT": "60"},
    )


def root_output(host, command, *args):
    return host.check_output("sudo -n " + command, *args)


def boot_id(host):
    return host.file("/proc/sys/kernel/random/boot_id").content_string.strip()


def failures(run, host=HOST):
    """The failed task results of `host`, in order (ignored failures left out)."""
    return [t for t in run.tasks if t["host"] == host and t["failed"] and not t["ignore_errors"]]


def message_text(task):
    """A failed task's msg as one string (a fail task's msg may be a list of lines)."""
    msg = task["msg"]
    return "\n".join(map(str, msg)) if isinstance(msg, list) else str(msg)


def cgroup_param(cmdline):
    """The value systemd acts on: the last systemd.unified_cgroup_hierarchy= wins."""
    values = [w.split("=", 1)[1] for w in cmdline.split() if w.startswith("systemd.unified_cgroup_hierarchy=")]
    return values[-1] if values else None
