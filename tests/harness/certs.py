"""A throw-away test CA and server certificates, made with the openssl CLI.

The openssl CLI (not python3-cryptography) is used so that the harness needs
nothing beyond the `openssl` package. `openssl ca` is used for signing because
it is the OpenSSL 3.0 tool that accepts explicit -startdate/-enddate, which is
how the expired certificate is made without faking the clock.
"""
import os
import subprocess
from pathlib import Path

# name -> (common name, subjectAltName, start date, end date); None dates = valid now.
SERVER_CERTS = {
    "good": ("localhost", "DNS:localhost,IP:127.0.0.1", None, None),
    "expired": ("localhost", "DNS:localhost,IP:127.0.0.1", "20200101000000Z", "20200201000000Z"),
    "wrongname": ("other.example", "DNS:other.example", None, None),
}

CA_CONFIG = """
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/issued
serial = {dir}/serial
default_md = sha256
default_days = 365
policy = any_name
unique_subject = no
copy_extensions = none
[ any_name ]
commonName = supplied
[ server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $ENV::CERT_SAN
"""


def _openssl(*args, env=None):
    subprocess.run(["openssl", *args], check=True, capture_output=True, env=env)


class CertificateSet:
    """Paths of the CA and of each server certificate (see SERVER_CERTS, plus 'selfsigned')."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.ca = str(self.dir / "ca.pem")
        self._make_ca()
        for name, (cn, san, start, end) in SERVER_CERTS.items():
            self._make_signed(name, cn, san, start, end)
        self._make_selfsigned("selfsigned", "localhost", "DNS:localhost,IP:127.0.0.1")

    def pair(self, name):
        """(certfile, keyfile) of server certificate `name`."""
        cert, key = self.dir / f"{name}.pem", self.dir / f"{name}.key"
        if not cert.exists():
            raise KeyError(f"no test certificate named {name!r}")
        return str(cert), str(key)

    def _make_ca(self):
        (self.dir / "issued").mkdir()
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "ca.cnf").write_text(CA_CONFIG.format(dir=self.dir))
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                 "-keyout", str(self.dir / "ca.key"), "-out", self.ca,
                 "-subj", "/CN=rust-mail test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def _make_signed(self, name, cn, san, start, end):
        csr = self.dir / f"{name}.csr"
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", str(self.dir / f"{name}.key"), "-out", str(csr), "-subj", f"/CN={cn}")
        dates = ["-startdate", start, "-enddate", end] if start else ["-days", "365"]
        _openssl("ca", "-batch", "-notext", "-config", str(self.dir / "ca.cnf"),
                 "-cert", self.ca, "-keyfile", str(self.dir / "ca.key"), "-extensions", "server",
                 "-in", str(csr), "-out", str(self.dir / f"{name}.pem"), *dates,
                 env={**os.environ, "CERT_SAN": san})

    def _make_selfsigned(self, name, cn, san):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                 "-keyout", str(self.dir / f"{name}.key"), "-out", str(self.dir / f"{name}.pem"),
                 "-subj", f"/CN={cn}", "-addext", f"subjectAltName={san}",
                 "-addext", "basicConstraints=critical,CA:FALSE",
                 "-addext", "extendedKeyUsage=serverAuth")
