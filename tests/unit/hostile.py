"""Hypothesis strategies that build module parameters from an argument spec, with hostile values.

Every option gets either a value of roughly the right shape (what a user means to write, at its
edges: huge and negative numbers, inf, nan, durations and sizes out of range) or plain junk (wrong
types, nested containers, NUL bytes, unicode). Used by test_fuzz_modules.py.
"""
from __future__ import annotations

from hypothesis import strategies as st

HUGE_NUMBERS = [1e30, -2 ** 63, 2 ** 63, 2 ** 64, 10 ** 30, -1, 0, 1e16, float("inf"), float("-inf"), float("nan")]
TRICKY_TEXT = ["", " ", "\x00", "a\x00b", "inf", "-inf", "nan", "1e30", "-1", "0", "1e16s", "10000000000000000s",
               "99999999999999999999t", "1.5.5", "../x", "a/b", "?#", "名前", "\u202e", "1m30", "30x", ":",
               "[]", "{}", "auto", "1.43", "1.x", "CMD", "host:ip", "127.0.0.1:80:80", "/dev/null",
               "a=b", "a=1:2:3", "/\x00"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HUGE_NUMBERS),
    st.sampled_from(TRICKY_TEXT),
    st.text(max_size=12),
)
# Mostly scalars (the wrong type for most options), else nested lists and mappings of them.
junk = st.one_of(scalars, scalars, st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(TRICKY_TEXT)), inner, max_size=3),
), max_leaves=8))

_TEXT = st.one_of(st.sampled_from(TRICKY_TEXT), st.text(max_size=16))
_NUMBERS = st.one_of(st.sampled_from(HUGE_NUMBERS), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                     st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["inf", "nan", "1e30", "-5"]))
_BY_TYPE = {
    "str": _TEXT,
    "path": st.one_of(st.sampled_from(["/tmp", "/tmp/a\x00b", "relative", "\x00", "/nonexistent/x"]), _TEXT),
    "int": _NUMBERS,
    "float": _NUMBERS,
    "bool": st.one_of(st.booleans(), st.sampled_from(["yes", "no", "maybe", None, 2])),
    "raw": junk,
}


def _element(element_type):
    return _BY_TYPE.get(element_type or "raw", junk)


def value_for(option):
    """A value for one option: shaped after its spec most of the time, junk otherwise."""
    kind = option.get("type", "str")
    if option.get("choices"):
        shaped = st.one_of(st.sampled_from(list(option["choices"])), _TEXT)
    elif option.get("options") and kind == "dict":
        shaped = params_for(option["options"])
    elif option.get("options") and kind == "list":
        shaped = st.lists(params_for(option["options"]), max_size=3)
    elif kind == "list":
        shaped = st.lists(_element(option.get("elements")), max_size=4)
    elif kind == "dict":
        shaped = st.dictionaries(_TEXT, junk, max_size=3)
    else:
        shaped = _BY_TYPE.get(kind, junk)
    return st.one_of(shaped, shaped, shaped, junk)


@st.composite
def _some_options(draw, spec, base, most):
    names = sorted(name for name in spec if name not in base)
    chosen = draw(st.lists(st.sampled_from(names), max_size=most, unique=True)) if names else []
    params = {name: draw(st.one_of(st.just(value), value_for(spec[name]))) for name, value in base.items()}
    params.update({name: draw(value_for(spec[name])) for name in chosen})
    return params


def params_for(spec, base=None, most=3):
    """Parameters for a spec: `base` (the required options, sane) plus up to `most` other options.

    Few options at a time, so that a hostile value reaches the parser of its option rather than
    stopping at the first of many bad ones.
    """
    return _some_options(spec, base or {}, most)


def option_names(spec):
    """Every option and alias name in a spec, suboptions included."""
    names = set()
    for name, option in spec.items():
        names.add(name)
        names.update(option.get("aliases") or [])
        if option.get("options"):
            names.update(option_names(option["options"]))
    return names


def targets(spec, prefix=()):
    """(path, option spec) of every option, suboptions included: ('healthcheck', 'test')."""
    for name, option in sorted(spec.items()):
        yield prefix + (name,), option
        if option.get("options"):
            yield from targets(option["options"], prefix + (name,))


# Sane values for required suboptions, so that a hostile value next to them reaches its parser.
_SANE = {"target": "/data", "subnet": "10.9.0.0/24", "name": "x", "path": "/tmp"}


def _sane_required(spec):
    return {name: _SANE.get(name, "x") for name, option in spec.items() if option.get("required")}


def _wrap(spec, path, value):
    """{path[0]: ... {path[-1]: value}}, through mappings and lists of mappings, required siblings set."""
    name = path[0]
    if len(path) == 1:
        return {name: value}
    option = spec[name]
    inner = dict(_sane_required(option["options"]), **_wrap(option["options"], path[1:], value))
    return {name: [inner] if option.get("type") == "list" else inner}


@st.composite
def params_targeting(draw, spec, base, path, option):
    """Parameters with a hostile value for the option at `path`, plus at most one other option."""
    params = draw(params_for(spec, base, most=1))
    params.update(_wrap(spec, path, draw(value_for(option))))
    return params


# Facts shaped like what host_prereqs gathers on a healthy Debian 12 host, for prereqs.evaluate().
HEALTHY_FACTS = {
    "kernel": {"release": "6.1.0-18-amd64", "config_readable": True,
               "config_source": "/boot/config-6.1.0-18-amd64", "missing_options": []},
    "cgroup": {"mode": "unified", "v2_mountpoint": "/sys/fs/cgroup",
               "v2_controllers": ["cpu", "cpuset", "io", "memory", "pids"]},
    "storage": {"data_root": "/var/lib/docker", "path_checked": "/var/lib", "fstype": "ext4", "d_type": True,
                "overlay_supported": True},
    "sysctls": {"net.ipv4.ip_forward": "1"},
    "kernel_modules": {"overlay": {"available": True}, "br_netfilter": {"available": True}},
    "firewall": {"iptables": "/usr/sbin/iptables"},
    "userns": {"supported": True, "max_user_namespaces": 100},
    "init": {"pid1": "systemd", "systemd": True},
    "container": {"is_container": False, "evidence": []},
    "bootloader": {"type": "grub"},
}
