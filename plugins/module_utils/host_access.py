# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host side of berth.engine.host_prereqs: read each source, and apply the fix plan.

Host reads one source per method (/proc, /sys, /lib/modules, /boot, a few
commands) and hands the raw text to the pure parsers of prereqs.py. Every
path goes through Host.path(), so the unit tests point `root` at a fixture
tree shaped like a real host. HostPrereqs is the resource (desire -> read ->
plan -> apply) that fix mode converges: load modules, set sysctls live,
persist both atomically.
"""

from __future__ import annotations

import os
import stat
import tempfile

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr
from ansible_collections.berth.engine.plugins.module_utils import rootless as rl
from ansible_collections.berth.engine.plugins.module_utils.resource import Resource

# Bootloader tooling the prereqs role can drive (see prereqs.bootloader_kind).
BOOTLOADER_PATHS = (
    "/boot/grub/grub.cfg",
    "/boot/grub2/grub.cfg",
    "/boot/loader/entries",
    "/usr/sbin/grubby",
    "/sbin/grubby",
    "/usr/sbin/update-grub",
    "/usr/sbin/grub-mkconfig",
    "/etc/default/grub",
)


class HostError(Exception):
    """A fix that could not be applied and must fail the task (e.g. /etc not writable)."""


def _no_command(argv):
    return 127, "", "%s: not run" % argv[0]


class Host:
    """Reads of one host, below `root` (the real host: "/").

    run(argv) -> (rc, stdout, stderr) and which(name) -> path or None are the
    module's run_command and get_bin_path; without them no command runs.
    """

    def __init__(self, root="/", run=None, which=None, release=None, version=None):
        self.root = root
        self.run = run or _no_command
        self.which = which or (lambda name: None)
        uname = os.uname()
        self.release = release or uname[2]
        self.version = version or uname[3]

    # ------------------------------------------------------------ primitives

    def path(self, path):
        if self.root in ("", "/"):
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def read_bytes(self, path):
        try:
            with open(self.path(path), "rb") as f:
                return f.read()
        except (OSError, ValueError):
            return None

    def read(self, path):
        data = self.read_bytes(path)
        return None if data is None else data.decode("utf-8", "replace")

    def exists(self, path):
        return os.path.exists(self.path(path))

    def sysctl_path(self, name):
        """/proc/sys/<name with dots as slashes>, for a name prereqs.check_sysctl_name accepts."""
        pr.check_sysctl_name(name)
        return "/proc/sys/" + name.replace(".", "/")

    # ------------------------------------------------------------ sources

    def cmdline(self):
        return (self.read("/proc/cmdline") or "").strip()

    def kernel_config(self, override=None):
        """(parsed config, source path), or (None, None) when no candidate is readable."""
        candidates = [override] if override else ["/proc/config.gz", "/boot/config-%s" % self.release]
        for candidate in candidates:
            data = self.read_bytes(candidate)
            if not data:
                continue
            try:
                return pr.parse_kernel_config(pr.read_kernel_config_bytes(data)), candidate
            except (OSError, EOFError):
                continue
        return None, None

    def mounts(self):
        return pr.parse_mounts(self.read("/proc/self/mountinfo") or self.read("/proc/mounts") or "")

    def cgroup(self, mounts):
        layout = pr.cgroup_layout(mounts)
        if layout["v2_mountpoint"]:
            controllers = self.read(layout["v2_mountpoint"].rstrip("/") + "/cgroup.controllers") or ""
            layout = pr.cgroup_layout(mounts, controllers)
        return layout

    def sysctls(self, names):
        """name -> current value, None for a sysctl that does not exist."""
        values = {}
        for name in names:
            value = self.read(self.sysctl_path(name))
            values[name] = value.strip() if value is not None else None
        return values

    def sysctl_writable(self, names):
        """name -> whether /proc/sys lets us write it (False on a read-only /proc/sys, as in containers)."""
        return dict((n, os.access(self.path(self.sysctl_path(n)), os.W_OK)) for n in names)

    def module_sources(self):
        """Everything that tells whether a module is there: loaded, built in, installed, ..."""
        proc_modules = self.read("/proc/modules")
        lib = "/lib/modules/%s/" % self.release
        try:
            sysfs = os.listdir(self.path("/sys/module"))
        except OSError:
            sysfs = []
        return {
            "supported": proc_modules is not None,
            "loaded": pr.parse_proc_modules(proc_modules),
            "builtin": pr.parse_modules_builtin(self.read(lib + "modules.builtin")),
            "installed": pr.parse_modules_dep(self.read(lib + "modules.dep")),
            "sysfs": sysfs,
            "filesystems": pr.parse_filesystems(self.read("/proc/filesystems")),
        }

    def kernel_modules(self, names, sources):
        bridge_sysctl = "net.bridge.bridge-nf-call-iptables"
        present = [bridge_sysctl] if self.exists(self.sysctl_path(bridge_sysctl)) else []
        return dict(
            (m, pr.module_status(m, sources["loaded"], sources["builtin"], sources["sysfs"],
                                 sources["filesystems"], present, sources["installed"]))
            for m in names
        )

    def _nearest_existing(self, path):
        path = os.path.abspath(path)
        while not self.exists(path) and path != "/":
            path = os.path.dirname(path)
        real = os.path.realpath(self.path(path))
        if self.root in ("", "/"):
            return real
        relative = os.path.relpath(real, os.path.realpath(self.root))
        return "/" if relative == "." else "/" + relative

    def xfs_ftype(self, mountpoint):
        xfs_info = self.which("xfs_info")
        if not xfs_info:
            return None
        rc, out, _err = self.run([xfs_info, mountpoint])
        return pr.parse_xfs_ftype(out) if rc == 0 else None

    def storage(self, data_root, mounts, sources):
        checked = self._nearest_existing(data_root)
        mount = pr.mount_for_path(mounts, checked) or {}
        fstype = mount.get("fstype")
        xfs_ftype = self.xfs_ftype(mount["mountpoint"]) if fstype == "xfs" else None
        overlay_file = any(
            self.exists("/lib/modules/%s/kernel/fs/overlayfs/overlay.ko%s" % (self.release, ext))
            for ext in ("", ".xz", ".zst", ".gz")
        )
        return {
            "data_root": data_root,
            "data_root_exists": self.exists(data_root),
            "path_checked": checked,
            "mountpoint": mount.get("mountpoint"),
            "fstype": fstype,
            "source": mount.get("source"),
            "xfs_ftype": xfs_ftype,
            "d_type": pr.dtype_support(fstype, xfs_ftype),
            "overlay_supported": "overlay" in sources["filesystems"] or "overlay" in sources["installed"]
            or overlay_file,
        }

    def firewall(self):
        iptables = self.which("iptables")
        backend = None
        if iptables:
            rc, out, _err = self.run([iptables, "--version"])
            if "nf_tables" in out:
                backend = "nf_tables"
            elif "legacy" in out or rc == 0:
                backend = "legacy"
        return {
            "iptables": iptables,
            "ip6tables": self.which("ip6tables"),
            "nft": self.which("nft"),
            "iptables_backend": backend,
        }

    def userns(self):
        max_userns = (self.read("/proc/sys/user/max_user_namespaces") or "").strip()
        unprivileged = (self.read("/proc/sys/kernel/unprivileged_userns_clone") or "").strip()
        max_userns = int(max_userns) if max_userns.isdigit() else None
        return {
            "supported": bool(max_userns) and self.exists("/proc/self/ns/user"),
            "max_user_namespaces": max_userns,
            "unprivileged_userns_clone": int(unprivileged) if unprivileged.isdigit() else None,
        }

    def init(self):
        pid1 = (self.read("/proc/1/comm") or "").strip() or None
        return {"pid1": pid1, "systemd": os.path.isdir(self.path("/run/systemd/system"))}

    def container(self):
        environ = self.read("/proc/1/environ")
        pid1_env = None
        if environ is not None:
            pid1_env = dict(kv.split("=", 1) for kv in environ.split("\0") if "=" in kv)
        detect_virt = None
        tool = self.which("systemd-detect-virt")
        if tool:
            _rc, out, _err = self.run([tool, "--container"])
            detect_virt = out.strip() or "none"
        return pr.detect_container(
            dockerenv=self.exists("/.dockerenv"),
            containerenv=self.exists("/run/.containerenv"),
            pid1_cgroup_text=self.read("/proc/1/cgroup"),
            pid1_environ=pid1_env,
            detect_virt=detect_virt,
        )

    def bootloader(self):
        exists = dict((p, self.exists(p)) for p in BOOTLOADER_PATHS)
        return {"type": pr.bootloader_kind(exists), "grub_defaults": exists["/etc/default/grub"]}

    def file_state(self, path):
        """{content, mode, uid, gid} of a persisted file, or None when it does not exist."""
        try:
            st = os.stat(self.path(path))
        except OSError:
            return None
        data = self.read_bytes(path)
        return {
            "content": None if data is None else data.decode("utf-8", "replace"),
            "mode": st.st_mode & 0o7777,
            "uid": st.st_uid,
            "gid": st.st_gid,
        }

    # ------------------------------------------------------------ rootless mode

    def idmap_tool(self, name):
        """{path, privileged}: newuidmap/newgidmap must be setuid root or carry file capabilities."""
        path = self.which(name)
        if not path:
            return {"path": None, "privileged": False}
        try:
            st = os.stat(self.path(path))
        except OSError:
            return {"path": None, "privileged": False}
        setuid = bool(st.st_mode & stat.S_ISUID) and st.st_uid == 0
        try:
            caps = bool(os.getxattr(self.path(path), "security.capability"))
        except (OSError, AttributeError):
            caps = False
        return {"path": path, "privileged": setuid or caps}

    def delegated_controllers(self):
        """Controllers user@.service delegates: the unit and its drop-ins, merged."""
        found = set()
        for base in ("/usr/lib/systemd/system", "/lib/systemd/system", "/etc/systemd/system"):
            found.update(rl.parse_delegate(self.read(base + "/user@.service")))
            try:
                dropins = sorted(os.listdir(self.path(base + "/user@.service.d")))
            except OSError:
                dropins = []
            for name in dropins:
                if name.endswith(".conf"):
                    found.update(rl.parse_delegate(self.read(base + "/user@.service.d/" + name)))
        return sorted(found)

    def rootless(self, desired):
        """What rootless mode needs, for the users of desired["rootless"]; {} when there are none."""
        users = desired["rootless"]["users"]
        if not users:
            return {}
        names = (rl.USERNS_CLONE, rl.MAX_USERNS, rl.PORT_START)
        current = self.sysctls(names)
        passwd = rl.parse_passwd(self.read("/etc/passwd"))
        return {
            "users": list(users),
            "passwd": dict((n, passwd[n]) for n in users if n in passwd),
            "subuid": rl.parse_subids(self.read(rl.SUBUID_FILE)),
            "subgid": rl.parse_subids(self.read(rl.SUBGID_FILE)),
            "userns": {
                "present": self.exists("/proc/self/ns/user"),
                "max_user_namespaces": int(current[rl.MAX_USERNS] or 0),
                "unprivileged_userns_clone": None if current[rl.USERNS_CLONE] is None
                else int(current[rl.USERNS_CLONE]),
            },
            "idmap": dict((t, self.idmap_tool(t)) for t in ("newuidmap", "newgidmap")),
            "delegated": self.delegated_controllers(),
            "sysctls": current,
            "sysctl_writable": self.sysctl_writable([n for n in names if current[n] is not None]),
        }

    # ------------------------------------------------------------ all of it

    def kernel(self, config, source, cgroup_mode, desired, sources):
        required = pr.required_kernel_options(cgroup_mode, desired["storage_driver"], desired["extra_kernel_options"])
        cmdline = self.cmdline()
        return {
            "release": self.release,
            "version": self.version,
            "cmdline": cmdline,
            "cgroup_v2_param": pr.parse_cmdline(cmdline).get(pr.CGROUP_V2_PARAM),
            "config_source": source,
            "config_readable": config is not None,
            "missing_options": [list(x) for x in pr.missing_kernel_options(config, required)] if config else [],
            "modules_supported": sources["supported"],
        }

    def gather(self, desired):
        """Every fact host_prereqs returns, for the desired state of prereqs.desire()."""
        mounts = self.mounts()
        cgroup = self.cgroup(mounts)
        config, source = self.kernel_config(desired["kernel_config_path"])
        sources = self.module_sources()
        return {
            "kernel": self.kernel(config, source, cgroup["mode"], desired, sources),
            "cgroup": cgroup,
            "sysctls": self.sysctls(desired["sysctls"]),
            "kernel_modules": self.kernel_modules(desired["kernel_modules"], sources),
            "storage": self.storage(desired["data_root"], mounts, sources),
            "swarm": pr.swarm_features(config, sources["loaded"], sources["builtin"], sources["installed"]),
            "firewall": self.firewall(),
            "userns": self.userns(),
            "init": self.init(),
            "container": self.container(),
            "bootloader": self.bootloader(),
            "rootless": self.rootless(desired),
        }


class HostPrereqs(Resource):
    """The host's prerequisites as a resource: read the facts, plan the fixes, apply them."""

    kind = "host"

    def __init__(self, host, params, check_mode=False):
        self.host = host
        Resource.__init__(self, None, params, check_mode)

    def desire(self, params):
        return pr.desire(params)

    def read(self, known=None):
        desired = self.desired
        state = {"facts": self.host.gather(desired), "current": {"done": [], "notes": []}}
        if desired["fix"]:
            paths = (desired["modules_load_file"], desired["sysctl_file"]) + (
                rl.FIX_FILES if desired["rootless"]["users"] else ())
            state["files"] = dict((p, self.host.file_state(p)) for p in paths)
            # write_atomically gives root's files to root; anyone else keeps their own uid and gid.
            state["owner"] = (0, 0) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
            state["sysctl_writable"] = self.host.sysctl_writable(desired["sysctls"])
        return state

    def plan(self, state):
        if not self.desired["fix"]:
            return pr.HostPlan(self.name)
        return pr.plan_fixes(self.desired, state)

    def apply(self, plan, state):
        """Run the actions in order; a module or sysctl that refuses is a note, a file that cannot be written fails."""
        done, notes = [], []
        for action in plan.actions:
            note = getattr(self, "_" + action["action"])(action)
            if note:
                notes.append(note)
            else:
                done.append(action)
        return {"done": done, "notes": notes}

    def _load_module(self, action):
        modprobe = self.host.which("modprobe")
        if not modprobe:
            return "kernel module %s: modprobe not found: install kmod" % action["name"]
        rc, _out, err = self.host.run([modprobe, action["name"]])
        if rc != 0:
            return "kernel module %s: modprobe failed: %s" % (action["name"], (err or "").strip())
        return None

    def _set_sysctl(self, action):
        path = self.host.path(self.host.sysctl_path(action["name"]))
        if not os.path.exists(path):
            return "sysctl %s: does not exist on this host, even after loading the modules" % action["name"]
        try:
            with open(path, "w") as f:
                f.write(action["value"])
        except OSError as err:
            return "sysctl %s: cannot be set here: %s" % (action["name"], err.strerror or err)
        return None

    def _write_file(self, action):
        write_atomically(self.host.path(action["path"]), action["content"], pr.PERSISTED_MODE)
        return None


def write_atomically(path, content, mode):
    """Replace path with content in one rename, so a reader never sees half a file."""
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, 0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".berth-", dir=directory)
    except OSError as err:
        raise HostError("cannot write %s: %s" % (path, err.strerror or err)) from None
    try:
        with os.fdopen(fd, "w") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if os.geteuid() == 0:
            os.chown(tmp, 0, 0)
        os.replace(tmp, path)
    except OSError as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise HostError("cannot write %s: %s" % (path, err.strerror or err)) from None
