"""The CA folder (made once, reused, re-issued when the server certificate is stale), what each
language is told to set, and where the proxy may tunnel (pure parts, no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from fakeding.core.tls.env import EnvError, Facts, Tls, language_env, shell_lines
from fakeding.core.tls.names import DINGTALK_HOSTS, SERVER_NAMES
from fakeding.tls.ca import ensure_ca
from fakeding.tls.proxy import Targets


def test_the_ca_is_made_once_and_reused(tmp_path: Path) -> None:
    first = ensure_ca(tmp_path / "ca")
    ca_bytes, server_bytes = first.ca_cert.read_bytes(), first.server_cert.read_bytes()
    assert oct(first.ca_key.stat().st_mode & 0o777) == "0o600"
    again = ensure_ca(tmp_path / "ca")
    assert (again.ca_cert.read_bytes(), again.server_cert.read_bytes()) == (ca_bytes, server_bytes)
    again.server_cert.unlink()
    third = ensure_ca(tmp_path / "ca")
    assert third.ca_cert.read_bytes() == ca_bytes, "re-issuing the server cert must keep the CA"
    assert third.server_cert.read_bytes() != server_bytes


def test_the_server_certificate_names_every_host_and_chains_to_the_ca(tmp_path: Path) -> None:
    files = ensure_ca(tmp_path)
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
    }
    assert names == set(SERVER_NAMES)
    files.server_context()  # the key matches the certificate
    assert files.bundle.read_bytes().startswith(ca.public_bytes(Encoding.PEM))
    assert files.bundle.read_bytes().count(b"BEGIN CERTIFICATE") > 1, "the bundle keeps public roots"


def test_the_java_truststore_holds_the_ca_as_a_trusted_entry(tmp_path: Path) -> None:
    files = ensure_ca(tmp_path)
    store = pkcs12.load_pkcs12(files.truststore.read_bytes(), b"fakeding")
    assert store.key is None
    assert [c.certificate for c in store.additional_certs] == [
        x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    ]


TLS = Tls(
    ca_cert="/ca/ca.pem",
    bundle="/ca/ca-bundle.pem",
    truststore="/ca/truststore.p12",
    proxy_url="http://127.0.0.1:4000",
)
FACTS = Facts("https://127.0.0.1:3000", "wss://127.0.0.1:3001/connect", TLS)


def test_each_language_gets_only_standard_variables() -> None:
    assert language_env("python", FACTS)["env"] == {
        "HTTPS_PROXY": "http://127.0.0.1:4000",
        "NO_PROXY": "127.0.0.1,localhost",
        "REQUESTS_CA_BUNDLE": "/ca/ca-bundle.pem",
        "SSL_CERT_FILE": "/ca/ca-bundle.pem",
    }
    assert language_env("node", FACTS)["env"] == {
        "HTTPS_PROXY": "http://127.0.0.1:4000",
        "NO_PROXY": "127.0.0.1,localhost",
        "NODE_EXTRA_CA_CERTS": "/ca/ca.pem",
    }
    assert language_env("go", FACTS)["env"] == {
        "HTTPS_PROXY": "http://127.0.0.1:4000",
        "NO_PROXY": "127.0.0.1,localhost",
        "SSL_CERT_FILE": "/ca/ca-bundle.pem",
    }
    java = language_env("java", FACTS)
    assert java["jvm_flags"] == [
        "-Djavax.net.ssl.trustStore=/ca/truststore.p12",
        "-Djavax.net.ssl.trustStoreType=PKCS12",
        "-Djavax.net.ssl.trustStorePassword=fakeding",
        "-Dhttps.proxyHost=127.0.0.1",
        "-Dhttps.proxyPort=4000",
        "-Dhttp.nonProxyHosts=localhost|127.0.0.1",
    ]
    assert java["env"] == {"JAVA_TOOL_OPTIONS": " ".join(java["jvm_flags"])}
    assert any(
        "--stream-endpoint wss://wss-open-connection.dingtalk.com:{port}/connect" in n for n in java["notes"]
    )
    for lang in ("python", "node", "go", "java"):
        answer = language_env(lang, FACTS)
        assert answer["hosts"] == [f"127.0.0.1 {' '.join(DINGTALK_HOSTS)}"]
        assert "DINGTALK_OPENAPI_ENDPOINT" not in answer["env"]


def test_without_the_proxy_python_keeps_the_endpoint_variable() -> None:
    facts = Facts(FACTS.http_url, FACTS.ws_endpoint, Tls("/c", "/b", "/t", None))
    env = language_env("python", facts)["env"]
    assert env == {
        "DINGTALK_OPENAPI_ENDPOINT": "https://127.0.0.1:3000",
        "REQUESTS_CA_BUNDLE": "/b",
        "SSL_CERT_FILE": "/b",
    }
    assert "HTTPS_PROXY" not in language_env("node", facts)["env"]


def test_without_tls_python_gets_the_endpoint_and_the_others_are_told_to_use_tls() -> None:
    plain = Facts("http://127.0.0.1:3000", "ws://127.0.0.1:3001/connect", None)
    assert language_env("python", plain)["env"] == {"DINGTALK_OPENAPI_ENDPOINT": "http://127.0.0.1:3000"}
    for lang in ("node", "go", "java"):
        with pytest.raises(EnvError, match="--tls") as info:
            language_env(lang, plain)
        assert info.value.status == 409
    with pytest.raises(EnvError, match="expected one of python, node, go, java, found 'rust'") as bad:
        language_env("rust", plain)
    assert (bad.value.status, bad.value.field) == (400, "lang")


def test_shell_lines_quote_values_and_comment_the_rest() -> None:
    text = shell_lines({"env": {"A": "x y", "B": "plain"}, "hosts": ["127.0.0.1 h"], "notes": ["n"]})
    assert text == "export A='x y'\nexport B=plain\n# hosts file alternative: 127.0.0.1 h\n# n\n"


def test_the_proxy_tunnels_to_the_fake_only() -> None:
    t = Targets("127.0.0.1", 3000, 3001)
    assert t.route("CONNECT", "api.dingtalk.com:443") == ("127.0.0.1", 3000)
    assert t.route("CONNECT", "OAPI.dingtalk.com:443") == ("127.0.0.1", 3000)
    assert t.route("CONNECT", "wss-open-connection.dingtalk.com:3001") == ("127.0.0.1", 3001)
    assert t.route("CONNECT", "127.0.0.1:3001") == ("127.0.0.1", 3001)
    for refused in ("example.com:443", "127.0.0.1:22", "localhost:80", "dingtalk.com:443"):
        answer = t.route("CONNECT", refused)
        assert isinstance(answer, str) and "refused" in answer and "api.dingtalk.com" in answer
    plain = t.route("GET", "/")  # origin form: a request for the proxy itself
    assert isinstance(plain, str) and "tunnels (CONNECT) or forwards absolute-form" in plain
    assert "expected CONNECT HOST:PORT" in str(t.route("CONNECT", "api.dingtalk.com"))
