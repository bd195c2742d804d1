"""A TLS-only engine: the Docker CLI's environment (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) and the clear errors.

A private dockerd in its own network namespace listens on 127.0.0.1:2376 there with --tlsverify and a CA
made here; Ansible runs inside that namespace (`ip netns exec`). A module and the connection plugin (exec
with stdin, put and fetch) work with good certificates; plain HTTP, a wrong CA, no client certificate and
another CA's client certificate each fail with a message that says what to do.
"""
from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.ansible import REPO_ROOT, _bin, _env
from tests.support.debian import DEBIAN_IMAGE
from tests.support.private_daemon import PrivateDaemon

ADDRESS = "tcp://127.0.0.1:2376"


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_pem(path, key, cert):
    encoding, private = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    path.with_suffix(".key").write_bytes(key.private_bytes(encoding, private, serialization.NoEncryption()))
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_cert(directory, name, issuer=None, server=False):
    """A CA (issuer None) or a certificate signed by issuer=(key, cert); written as <name>.pem/.key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(name)).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1)))
    if issuer is None:
        builder = builder.issuer_name(_name(name)).add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        signer = key
    else:
        builder = builder.issuer_name(issuer[1].subject)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), False)
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        signer = issuer[0]
    cert = builder.sign(signer, hashes.SHA256())
    _write_pem(directory / name, key, cert)
    return key, cert


@pytest.fixture(scope="module")
def tls_engine(tmp_path_factory, docker_client, debian_image):
    certs = tmp_path_factory.mktemp("certs")
    ca = make_cert(certs, "ca")
    make_cert(certs, "server", ca, server=True)
    make_cert(certs, "client", ca)
    other_ca = make_cert(certs, "other-ca")
    make_cert(certs, "other-client", other_ca)
    # The Docker CLI's layout: DOCKER_CERT_PATH holds ca.pem, cert.pem and key.pem.
    cli = certs / "cli"
    cli.mkdir()
    (cli / "ca.pem").write_bytes((certs / "ca.pem").read_bytes())
    (cli / "cert.pem").write_bytes((certs / "client.pem").read_bytes())
    (cli / "key.pem").write_bytes((certs / "client.key").read_bytes())
    daemon = PrivateDaemon("tls").start()
    daemon.extra_args = ["-H", ADDRESS, "--tlsverify", f"--tlscacert={certs / 'ca.pem'}",
                         f"--tlscert={certs / 'server.pem'}", f"--tlskey={certs / 'server.key'}"]
    try:
        daemon.launch()
        daemon.load_image(DEBIAN_IMAGE, docker_client)
        daemon.client.containers.run(DEBIAN_IMAGE, ["sleep", "infinity"], name="inside", detach=True)
        yield daemon, certs
    finally:
        daemon.stop()


def in_netns(daemon, argv, env):
    """Run an ansible command inside the daemon's namespace, with the Docker CLI's variables in env."""
    full_env = _env(None)
    for key in [k for k in full_env if k.startswith("DOCKER_")]:
        del full_env[key]
    full_env.update(env, ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_LOAD_CALLBACK_PLUGINS="0")
    proc = subprocess.run(["ip", "netns", "exec", daemon.netns, *argv], capture_output=True, text=True, cwd=REPO_ROOT,
                          env=full_env, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def engine_info(daemon, env, **args):
    module_args = " ".join(f"{key}={value}" for key, value in args.items())
    return in_netns(daemon, [_bin("ansible"), "localhost", "-c", "local", "-m", "berth.engine.engine_info",
                             "-a", module_args, "-e", "ansible_python_interpreter=" + _bin("python")], env)


def test_docker_cli_environment_and_tls_errors(tls_engine, tmp_path):
    daemon, certs = tls_engine
    cli_env = {"DOCKER_HOST": ADDRESS, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs / "cli")}
    rc, out = engine_info(daemon, cli_env)
    assert rc == 0 and daemon.client.version()["Version"] in out, out

    rc, out = engine_info(daemon, {"DOCKER_HOST": ADDRESS})
    assert rc != 0 and "speaks TLS but was spoken to in plain HTTP" in out and "set tls: true" in out, out

    good = {"tls": "true", "ca_path": certs / "ca.pem", "client_cert": certs / "client.pem",
            "client_key": certs / "client.key"}
    rc, out = engine_info(daemon, {"DOCKER_HOST": ADDRESS}, **good)
    assert rc == 0, out
    # Task options come before the environment: a wrong CA given as an option wins over a good DOCKER_CERT_PATH.
    rc, out = engine_info(daemon, cli_env, ca_path=certs / "other-ca.pem")
    assert rc != 0 and "TLS to the Docker daemon at %s failed" % ADDRESS in out, out
    assert "CERTIFICATE_VERIFY_FAILED" in out, out

    rc, out = engine_info(daemon, {"DOCKER_HOST": ADDRESS}, tls="true", ca_path=certs / "ca.pem")
    assert rc != 0 and "TLS to the Docker daemon" in out and "client_cert" in out, out
    other = {**good, "client_cert": certs / "other-client.pem", "client_key": certs / "other-client.key"}
    rc, out = engine_info(daemon, {"DOCKER_HOST": ADDRESS}, **other)
    assert rc != 0 and "TLS to the Docker daemon" in out, out
    assert "UNKNOWN_CA" in out.upper().replace(" ", "_") or "BAD_CERTIFICATE" in out.upper(), out


def test_connection_plugin_over_tls(tls_engine, tmp_path):
    """Exec with stdin (pipelining), put and fetch through the TLS engine, settings from the environment."""
    daemon, certs = tls_engine
    local = tmp_path / "payload"
    local.write_bytes(os.urandom(3 * 1024 * 1024))
    playbook = tmp_path / "play.yml"
    playbook.write_text(f"""\
- hosts: inside
  gather_facts: false
  vars:
    ansible_connection: berth.engine.docker
    ansible_python_interpreter: /usr/bin/python3
    ansible_pipelining: true
  tasks:
    - name: A module through stdin
      ansible.builtin.command: cat
      args:
        stdin: piped through TLS
      register: piped
      failed_when: piped.stdout != 'piped through TLS'
    - name: Put
      ansible.builtin.copy:
        src: {local}
        dest: /srv/payload
        mode: "0644"
    - name: Fetch
      ansible.builtin.fetch:
        src: /srv/payload
        dest: {tmp_path}/back
        flat: true
""")
    env = {"DOCKER_HOST": ADDRESS, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs / "cli")}
    rc, out = in_netns(daemon, [_bin("ansible-playbook"), "-i", "inside,", str(playbook)], env)
    assert rc == 0, out
    assert (tmp_path / "back").read_bytes() == local.read_bytes()
    _rc, sha = daemon.client.containers.get("inside").exec_run(["sha256sum", "/srv/payload"])
    assert sha.decode().split()[0] == hashlib.sha256(local.read_bytes()).hexdigest()
