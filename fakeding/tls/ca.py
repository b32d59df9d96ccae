"""A local CA, made once into a folder and reused, and the fake's server certificate.

Every client trusts the CA, never the server certificate, so the server certificate can be
re-issued (new names, expiry) without touching a client's settings. Files in the folder:
``ca.pem``/``ca.key`` (the CA), ``server.pem``/``server.key``, ``ca-bundle.pem`` (the CA plus the
usual public roots, for variables that *replace* the trust store: ``SSL_CERT_FILE``,
``REQUESTS_CA_BUNDLE``) and ``truststore.p12`` (PKCS12 for Java, password ``TRUSTSTORE_PASSWORD``).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fakeding.core.tls.names import SERVER_NAMES, TRUSTSTORE_PASSWORD

CA_DAYS = 3650
SERVER_DAYS = 397  # the longest a public server certificate may live; clients that check accept it
DEFAULT_CA_DIR = Path.home() / ".fakeding" / "ca"


@dataclass(frozen=True)
class CaFiles:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def bundle(self) -> Path:
        return self.directory / "ca-bundle.pem"

    @property
    def truststore(self) -> Path:
        return self.directory / "truststore.p12"

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA (the kit's own calls to the fake)."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


def ensure_ca(directory: Path | str | None = None) -> CaFiles:
    """The CA in ``directory`` (made on first use), with a server certificate valid today."""
    files = CaFiles(Path(directory).expanduser() if directory else DEFAULT_CA_DIR)
    files.directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    if files.ca_cert.exists() and files.ca_key.exists():
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        loaded = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{files.ca_key}: expected an EC private key, found {type(loaded).__name__}")
        ca_key = loaded
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, now)
        _write(files.ca_key, _key_pem(ca_key), private=True)
        _write(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))
        for stale in (files.server_cert, files.bundle, files.truststore):
            stale.unlink(missing_ok=True)
    if not _server_current(files, ca_cert, now):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _server_certificate(key, ca_key, ca_cert, now)
        _write(files.server_key, _key_pem(key), private=True)
        _write(files.server_cert, cert.public_bytes(serialization.Encoding.PEM))
    if not files.bundle.exists():
        _write(files.bundle, files.ca_cert.read_bytes() + _public_roots())
    if not files.truststore.exists():
        store = pkcs12.serialize_java_truststore(
            [pkcs12.PKCS12Certificate(ca_cert, b"fakeding-ca")],
            serialization.BestAvailableEncryption(TRUSTSTORE_PASSWORD.encode()),
        )
        _write(files.truststore, store)
    return files


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: datetime.datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "fakeding local CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fakeding"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    now: datetime.datetime,
) -> x509.Certificate:
    names: list[x509.GeneralName] = []
    for n in SERVER_NAMES:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            names.append(x509.DNSName(n))
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAMES[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(min(now + datetime.timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=False,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _server_current(files: CaFiles, ca_cert: x509.Certificate, now: datetime.datetime) -> bool:
    """The server certificate exists, was signed by this CA, names every host, and is not near expiry."""
    if not (files.server_cert.exists() and files.server_key.exists()):
        return False
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    try:
        cert.verify_directly_issued_by(ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    have = {
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
    }
    return set(SERVER_NAMES) <= have and cert.not_valid_after_utc - now > datetime.timedelta(days=7)


def _public_roots() -> bytes:
    """The roots a bundle that replaces the trust store should keep (certifi's, else the system's)."""
    try:
        import certifi

        return b"\n" + Path(certifi.where()).read_bytes()
    except ImportError:
        cafile = ssl.get_default_verify_paths().cafile
        return b"\n" + Path(cafile).read_bytes() if cafile and Path(cafile).exists() else b""


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)
