# -*- coding: utf-8 -*-
# Copyright: Berth maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """Connection options of every module that speaks to the engine (plugins/module_utils/common.py).

    Such a module is in the action group berth.engine.docker (meta/runtime.yml), so it documents that too.
    """

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - Where the Docker Engine API listens.
      - C(unix:///path/to/docker.sock) for a local socket, C(tcp://host:2376) for a remote engine.
      - Falls back to the E(DOCKER_HOST) environment variable.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  tls:
    description:
      - Speak HTTPS to a C(tcp://) engine. Falls back to E(DOCKER_TLS), then to E(DOCKER_TLS_VERIFY)
        (the Docker CLI's variable; C(1), C(true) or C(yes) turn TLS on).
    type: bool
    default: false
  ca_path:
    description:
      - CA certificate that signed the engine's certificate. Falls back to E(DOCKER_CA_PATH), then to
        C(ca.pem) in E(DOCKER_CERT_PATH) (the Docker CLI's certificate directory).
    type: path
    aliases: [ca_cert]
  client_cert:
    description:
      - Client certificate for TLS client authentication. Falls back to E(DOCKER_CLIENT_CERT), then to
        C(cert.pem) in E(DOCKER_CERT_PATH).
    type: path
  client_key:
    description:
      - Key of O(client_cert). Falls back to E(DOCKER_CLIENT_KEY), then to C(key.pem) in E(DOCKER_CERT_PATH).
    type: path
  validate_certs:
    description:
      - Verify the engine's TLS certificate.
    type: bool
    default: true
    aliases: [tls_verify]
  timeout:
    description:
      - Seconds to wait for one API call to answer, from 1 to 86400.
    type: int
    default: 60
  api_version:
    description:
      - Engine API version to speak, C(auto) or a version such as C(1.43). C(auto) negotiates it from
        C(/version); Berth needs 1.41 or newer.
    type: str
    default: auto
attributes:
  # check_mode and diff_mode as in attributes.py, so that every engine module has their descriptions;
  # the module gives support and details.
  check_mode:
    description: Can run in check mode and return the changed status it would have without changing anything.
  diff_mode:
    description: Returns the before and after state of what it changes when run with C(--diff).
  action_group:
    description: Use C(group/berth.engine.docker) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - berth.engine.docker
notes:
  - Managed nodes need only Python 3; the modules speak the Engine REST API through ansible-core's own HTTP code.
"""
