"""The hospital's own CA and the broker's certificate, made with the ``cryptography`` library.

``bedboard plan`` keeps one CA per plan folder (``DIR/ca/``): its private
key (mode 0600, never copied to a device or into a bundle) and its
certificate, which every device receives as ``broker.tls.ca``.  The CA signs
the broker's certificate, whose subject alternative names are the host the
devices connect to (``broker.host`` of the inventory) and any other names
the inventory gives it — a DNS name or an IP address each.

Nothing here shells out to ``openssl``: keys and certificates are made by
``cryptography`` (EC P-256, SHA-256), which the TLS cross-check
(:mod:`ops.tls_check`) already uses.  Both are made once and kept: a second
plan keeps the CA and keeps the broker's certificate as long as it still
fits — signed by this CA, for exactly these names, with its key, and valid
for more than RENEW_BEFORE — so that re-planning changes nothing.
"""

import datetime
import ipaddress
import logging
import secrets

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

_LOG = logging.getLogger(__name__)

CA_DAYS = 20 * 365          # the CA outlives the hardware
SERVER_DAYS = 825           # what browsers and most TLS stacks still accept
RENEW_BEFORE = datetime.timedelta(days=60)
BACKDATE = datetime.timedelta(hours=1)   # a device whose clock is a little behind


class Certificate:
    """A key and its certificate, each as PEM bytes."""

    def __init__(self, key_pem, cert_pem):
        self.key_pem = key_pem
        self.cert_pem = cert_pem

    @property
    def key(self):
        """The private key object."""
        return serialization.load_pem_private_key(self.key_pem, password=None)

    @property
    def cert(self):
        """The x509 certificate object."""
        return x509.load_pem_x509_certificate(self.cert_pem)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _serial():
    return int.from_bytes(secrets.token_bytes(16), "big") >> 1


def make_ca(common_name, now=None):
    """A new self-signed CA for ``common_name``: a Certificate."""
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public = key.public_key()
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(public).serial_number(_serial())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return Certificate(_pem_key(key), _pem_cert(cert))


def _general_name(name):
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def make_server(ca, names, now=None):
    """A new key and certificate for the broker, signed by ``ca``, for ``names``."""
    now = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    ca_cert, ca_key = ca.cert, ca.key
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(_serial())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + datetime.timedelta(days=SERVER_DAYS),
                                 ca_cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName(
                [_general_name(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return Certificate(_pem_key(key), _pem_cert(cert))


def _same_key(cert, key):
    """Whether ``key`` is the private key of ``cert``."""
    def spki(public):
        return public.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki(cert.public_key()) == spki(key.public_key())


def names_of(cert):
    """The subject alternative names of ``cert``, as text (``10.0.0.5``, ``broker.lan``)."""
    try:
        san = cert.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return set()
    return set(san.get_values_for_type(x509.DNSName)) | {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def _canonical(name):
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower().rstrip(".")


def why_not_kept(server, ca, names, now=None):
    """Why the broker's certificate ``server`` must be made anew, or None when it fits.

    It fits when it is signed by ``ca``, names exactly ``names``, goes with
    its key, and is valid for more than RENEW_BEFORE from ``now``.
    """
    now = now or _now()
    try:
        cert, key = server.cert, server.key
    except ValueError as exc:
        return "it cannot be read (%s)" % exc
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        return "it was not signed by this plan's CA"
    if not _same_key(cert, key):
        return "its key is another certificate's"
    wanted = {_canonical(n) for n in names}
    have = {_canonical(n) for n in names_of(cert)}
    if wanted != have:
        return "its names are %s, the inventory's %s" % (
            ", ".join(sorted(have)) or "none", ", ".join(sorted(wanted)))
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return "it ends on %s" % cert.not_valid_after_utc.strftime("%Y-%m-%d")
    return None


def ca_problem(ca):
    """Why ``ca`` cannot serve as this plan's CA, or None."""
    try:
        cert, key = ca.cert, ca.key
    except ValueError as exc:
        return "cannot be read: %s" % exc
    if not _same_key(cert, key):
        return "the key is not the certificate's"
    try:
        constraints = cert.extensions.get_extension_for_oid(
            ExtensionOID.BASIC_CONSTRAINTS).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        return "the certificate is not a CA's"
    if cert.not_valid_after_utc <= _now():
        return "the CA expired on %s" % cert.not_valid_after_utc.strftime("%Y-%m-%d")
    return None
