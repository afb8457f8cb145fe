"""What the Kubernetes API emulator checks at the door: EKS bearer tokens, and the TLS it serves.

EKS authenticates a request by its bearer token ``k8s-aws-v1.<base64url, unpadded, of a presigned
STS GetCallerIdentity URL>`` (what ``aws eks get-token`` and aws-iam-authenticator make). The URL
is signed with SigV4 query authentication and the header ``x-k8s-aws-id: <cluster name>``; EKS
takes it for 15 minutes from its ``X-Amz-Date`` whatever ``X-Amz-Expires`` says, and then calls
STS with it. The emulator makes the same format checks as aws-iam-authenticator's verifier but
calls no STS: it cannot check the signature, and the cluster name is in a signed header, not in
the URL, so it cannot check that either. Unlike EKS it accepts any host and http as well as https,
so tokens presigned against the local AWS stand-in pass.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime
import ssl
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a format prefix, not a secret
TOKEN_LIFETIME_SECONDS = 15 * 60
MAX_TOKEN_BYTES = 4096
CLUSTER_ID_HEADER = "x-k8s-aws-id"
_ALLOWED_PARAMS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
_EXPECTED_PARAMS = {"action": "GetCallerIdentity", "version": "2011-06-15", "x-amz-algorithm": "AWS4-HMAC-SHA256"}


class TokenError(Exception):
    """The request carries no EKS token, or one EKS would refuse; the message says why."""


def verify_token(authorization: str | None, now: float) -> str:
    """Check an ``Authorization`` header as EKS would; return the access key id that signed it.

    :param authorization: the header's value, ``None`` when absent.
    :param now: the current time in epoch seconds.
    :raises TokenError: no bearer token, a malformed one, or one older than 15 minutes.
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("no bearer token")
    params = _presigned_params(token.strip())
    for key, expected in _EXPECTED_PARAMS.items():
        if params.get(key) != expected:
            raise TokenError(f"{key} must be {expected!r}, got {params.get(key)!r}")
    signed = params.get("x-amz-signedheaders", "").lower().split(";")
    if CLUSTER_ID_HEADER not in signed or "host" not in signed:
        raise TokenError(f"the presigned URL must sign the host and {CLUSTER_ID_HEADER} headers")
    if not params.get("x-amz-signature") or len(params.get("x-amz-credential", "").split("/")) != 5:
        raise TokenError("the presigned URL lacks X-Amz-Signature or a full X-Amz-Credential")
    _check_times(params, now)
    return params["x-amz-credential"].split("/")[0]


def _presigned_params(token: str) -> dict[str, str]:
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenError("token is too large")
    if not token.startswith(TOKEN_PREFIX):
        raise TokenError(f"token lacks the {TOKEN_PREFIX!r} prefix")
    encoded = token[len(TOKEN_PREFIX) :]
    try:
        if "=" in encoded:
            raise ValueError("padding")
        url = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError) as error:
        raise TokenError("token is not unpadded base64url of a URL") from error
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path != "/":
        raise TokenError("token does not hold a presigned STS URL")
    params: dict[str, str] = {}
    for key, values in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items():
        if key.lower() not in _ALLOWED_PARAMS or len(values) != 1:
            raise TokenError(f"unexpected query parameter {key!r} in the presigned URL")
        params[key.lower()] = values[0]
    return params


def _check_times(params: dict[str, str], now: float) -> None:
    try:
        expires = int(params.get("x-amz-expires", ""))
        signed_at = calendar.timegm(time.strptime(params.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ"))
    except ValueError as error:
        raise TokenError("X-Amz-Expires and X-Amz-Date must be present and well formed") from error
    if not 0 <= expires <= 900:
        raise TokenError(f"X-Amz-Expires {expires} is outside 0..900")
    if now > signed_at + TOKEN_LIFETIME_SECONDS:
        raise TokenError("token expired (15 minutes after X-Amz-Date)")


@dataclass(frozen=True)
class TlsMaterial:
    """A throwaway CA and a server certificate it signed, all PEM; one EC key serves both."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def server_context(self) -> ssl.SSLContext:
        """Return a server-side TLS context presenting the certificate and the CA above it."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as folder:
            chain, key = Path(folder, "chain.pem"), Path(folder, "key.pem")
            chain.write_bytes(self.cert_pem + self.ca_pem)
            key.write_bytes(self.key_pem)
            context.load_cert_chain(chain, key)
        return context


def make_tls_material(ip: str = "127.0.0.1") -> TlsMaterial:
    """Generate a CA and a server certificate for ``ip`` (IP SAN) and ``localhost``, valid a day."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-emulator-ca")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())

    def usage(cert_sign: bool) -> x509.KeyUsage:
        flags = dict.fromkeys(("content_commitment", "key_encipherment", "data_encipherment", "key_agreement"), False)
        return x509.KeyUsage(
            digital_signature=True,
            key_cert_sign=cert_sign,
            crl_sign=cert_sign,
            encipher_only=False,
            decipher_only=False,
            **flags,
        )

    def builder(subject: x509.Name) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(ski, critical=False)
        )

    ca = (
        builder(ca_name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(True), critical=True)
        .sign(key, hashes.SHA256())
    )
    server = (
        builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return TlsMaterial(ca.public_bytes(pem), server.public_bytes(pem), key_pem)
