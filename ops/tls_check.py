"""The broker's TLS files judged as every device will judge them, before any device tries.

``bedboard broker-config --tls-cert --tls-key --tls-ca`` names three files
on the broker machine.  A CA that did not sign the certificate, or a device
whose ``broker.host`` is not a name in it, fails later on every device, each
saying only that the broker cannot be reached.  So the command checks here,
with the ``cryptography`` library and without the key (which is mode 640 for
the mosquitto group, and often unreadable to whoever runs the command):

* the certificate is signed by the CA given (directly: the CA file is the
  issuer a device's ``tls.ca`` names), and the CA is a CA;
* every host a device connects to (``broker.host`` or ``broker.hosts``, over
  TLS) is in the certificate's subject alternative names — a DNS name
  (wildcards of one level as TLS allows them) or an IP address;
* the certificate is valid now and for a while yet (a warning when it ends
  within 30 days).

Everything is told at once, as problems (``ConfigError``) and warnings.
"""

import datetime
import ipaddress
import logging

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtensionOID

_LOG = logging.getLogger(__name__)

SOON = datetime.timedelta(days=30)


def _load(path, flag, problems):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        problems.append("%s %s: cannot read: %s" % (flag, path, exc.strerror or exc))
        return None
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        try:
            certificates = [x509.load_der_x509_certificate(data)]
        except ValueError:
            problems.append("%s %s: not a PEM or DER certificate" % (flag, path))
            return None
    return certificates


def _names(certificate):
    """``(dns names, ip addresses)`` of the certificate's subject alternative names."""
    try:
        san = certificate.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return [], []
    return (san.get_values_for_type(x509.DNSName),
            san.get_values_for_type(x509.IPAddress))


def _dns_matches(pattern, host):
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:] and host.split(".", 1)[0] != ""
    return False


def covers(certificate, host):
    """Whether ``host`` (a name or an address) is among the certificate's names."""
    dns, ips = _names(certificate)
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return any(_dns_matches(name, host) for name in dns)
    return address in ips


def _signed_by(certificate, ca):
    try:
        certificate.verify_directly_issued_by(ca)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def _trusted(chain, cas):
    """Whether ``chain`` (the server's certificate, then any intermediates) leads to ``cas``."""
    server = chain[0]
    if any(_signed_by(server, ca) for ca in cas):
        return True
    return any(_signed_by(server, middle) and any(_signed_by(middle, ca) for ca in cas)
               for middle in chain[1:])


def check_server_tls(cert_path, ca_path, hosts, now=None):
    """Judge ``cert_path`` against ``ca_path`` and the devices' ``hosts``.

    ``hosts``: ``{host: [the config files that connect to it over TLS]}``.
    Returns ``(problems, warnings)``, each a list of lines.
    """
    problems, warnings = [], []
    chain = _load(cert_path, "--tls-cert", problems)
    cas = _load(ca_path, "--tls-ca", problems)
    if not chain or not cas:
        return problems, warnings
    server = chain[0]
    if not _trusted(chain, cas):
        problems.append("--tls-cert %s was not signed by --tls-ca %s (issuer: %s): every "
                        "device that trusts that CA would refuse the broker" % (
                            cert_path, ca_path, server.issuer.rfc4514_string()))
    now = now or datetime.datetime.now(datetime.timezone.utc)
    ends = server.not_valid_after_utc
    if server.not_valid_before_utc > now:
        problems.append("--tls-cert %s is not valid before %s" % (
            cert_path, server.not_valid_before_utc.strftime("%Y-%m-%d %H:%M UTC")))
    if ends <= now:
        problems.append("--tls-cert %s expired on %s" % (cert_path,
                                                          ends.strftime("%Y-%m-%d")))
    elif ends - now < SOON:
        warnings.append("--tls-cert %s expires on %s: renew it before then" % (
            cert_path, ends.strftime("%Y-%m-%d")))
    dns, ips = _names(server)
    named = ", ".join(list(dns) + [str(ip) for ip in ips]) or "no subject alternative name"
    for host in sorted(hosts):
        if not covers(server, host):
            problems.append("%s: %s is not a name in --tls-cert %s (it has: %s): a device "
                            "connecting to %s would refuse the broker; add it to the "
                            "certificate's subjectAltName, or use a name it has" % (
                                ", ".join(sorted(hosts[host])), host, cert_path, named,
                                host))
    return problems, warnings
