"""prereqs.swarm_features: the kernel options moby's check-config.sh lists for swarm."""
from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils import prereqs as pr
from tests.unit.prereqs_samples import KERNEL_CONFIG, MODULES_BUILTIN, MODULES_DEP, PROC_MODULES

# A firecracker-style kernel: everything built in, no module support, no IPVS and no ESP.
FIRECRACKER_CONFIG = """\
# CONFIG_MODULES is not set
CONFIG_XFRM_USER=y
# CONFIG_INET_ESP is not set
# CONFIG_IP_VS is not set
CONFIG_VXLAN=y
# CONFIG_CRYPTO_GCM is not set
"""


def statuses(features):
    return dict((name, o["status"]) for name, o in features["options"].items())


def test_debian_kernel_has_everything_as_modules():
    features = pr.swarm_features(pr.parse_kernel_config(KERNEL_CONFIG), pr.parse_proc_modules(PROC_MODULES),
                                 pr.parse_modules_builtin(MODULES_BUILTIN), pr.parse_modules_dep(MODULES_DEP))
    got = statuses(features)
    assert got["CONFIG_IP_VS"] == "module" and got["CONFIG_IP_VS_NFCT"] == "module"
    assert got["CONFIG_IP_VS_PROTO_TCP"] == "module" and got["CONFIG_IP_VS_RR"] == "module"
    assert got["CONFIG_VXLAN"] == "module" and got["CONFIG_CRYPTO_GCM"] == "builtin"
    assert features["options"]["CONFIG_XFRM_USER"]["loaded"] is True
    assert features["options"]["CONFIG_IP_VS"]["loaded"] is False
    assert (features["routing_mesh"], features["vip"], features["overlay"], features["encrypted_overlay"]) == (
        True, True, True, True)


def test_firecracker_kernel_without_ipvs_and_esp():
    features = pr.swarm_features(pr.parse_kernel_config(FIRECRACKER_CONFIG), [], [], [])
    got = statuses(features)
    assert got["CONFIG_IP_VS"] == "missing" and got["CONFIG_IP_VS_PROTO_UDP"] == "missing"
    assert got["CONFIG_VXLAN"] == "builtin" and got["CONFIG_XFRM_USER"] == "builtin"
    assert got["CONFIG_INET_ESP"] == "missing"
    assert features["routing_mesh"] is False and features["vip"] is False
    assert features["overlay"] is True and features["encrypted_overlay"] is False


def test_module_configured_but_not_installed_is_missing():
    config = pr.parse_kernel_config("CONFIG_VXLAN=m\n")
    assert statuses(pr.swarm_features(config, [], [], []))["CONFIG_VXLAN"] == "missing"
    assert statuses(pr.swarm_features(config, ["vxlan"], [], []))["CONFIG_VXLAN"] == "module"


def test_without_a_config_only_module_evidence_counts():
    features = pr.swarm_features(None, ["ip_vs", "ip_vs_rr"], ["vxlan"], ["esp4"])
    got = statuses(features)
    assert got["CONFIG_IP_VS"] == "module" and got["CONFIG_VXLAN"] == "builtin" and got["CONFIG_INET_ESP"] == "module"
    # the bool sub-options and GCM cannot be told without the config
    assert got["CONFIG_IP_VS_NFCT"] == "unknown" and got["CONFIG_CRYPTO_GCM"] == "unknown"
    assert features["vip"] is True and features["overlay"] is True
    assert features["routing_mesh"] is None and features["encrypted_overlay"] is None


def test_sub_option_disabled_in_config():
    text = KERNEL_CONFIG.replace("CONFIG_IP_VS_PROTO_UDP=y", "# CONFIG_IP_VS_PROTO_UDP is not set")
    config = pr.parse_kernel_config(text)
    features = pr.swarm_features(config, [], [], pr.parse_modules_dep(MODULES_DEP))
    assert statuses(features)["CONFIG_IP_VS_PROTO_UDP"] == "missing"
    assert features["routing_mesh"] is False and features["vip"] is True
