"""Certificates made with openssl at test time: a CA, a good server certificate for
localhost/127.0.0.1, one for another host, an expired one, one not valid before 2040, one for
::1, a self-signed one, and a client certificate for mTLS."""
import os
import subprocess
import tempfile


def _run(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make():
    d = tempfile.mkdtemp(prefix="outpost-certs-")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "365",
         "-subj", "/CN=outpost test CA", cwd=d)
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca=c\n[c]\ndir=.\ndatabase=index.txt\nnew_certs_dir=.\n"
                "serial=serial\npolicy=p\ndefault_md=sha256\ncopy_extensions=copy\n"
                "unique_subject=no\n"
                "[p]\ncommonName=supplied\n")
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")

    def leaf(name, cn, san, dates):
        _run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}",
             "-addext", f"subjectAltName={san}", cwd=d)
        _run("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
             "-in", f"{name}.csr", "-out", f"{name}.pem", "-notext", *dates, cwd=d)

    leaf("good", "localhost", "DNS:localhost,IP:127.0.0.1", ["-days", "30"])
    leaf("wronghost", "wrong.example", "DNS:wrong.example", ["-days", "30"])
    leaf("expired", "localhost", "DNS:localhost,IP:127.0.0.1",
         ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"])
    leaf("future", "localhost", "DNS:localhost,IP:127.0.0.1",
         ["-startdate", "20400101000000Z", "-enddate", "20410101000000Z"])
    leaf("v6", "localhost", "DNS:localhost,IP:::1", ["-days", "30"])
    leaf("client", "outpost probe", "DNS:outpost.invalid", ["-days", "30"])
    _run("req", "-x509", *ec, "-keyout", "self.key", "-out", "self.pem", "-days", "30",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=d)
    return d
