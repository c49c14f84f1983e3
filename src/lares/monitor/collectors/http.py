"""Every web entry of every deployed app, on its LAN URL and its public URL.

Each check connects (to the endpoint's ``address`` when it has one, else to the name), does the
TLS handshake for https, sends ``GET <health path>`` and reads the status line: an answer below
500 (redirects to a login included) is up. It records the latency and, for https, the days left
on the certificate the server presented. Checks run in parallel, each within
``http_timeout`` seconds.

The standard library does the work (``http.client`` and ``ssl``): it lets a check connect to one
address while sending another name as SNI and Host, and hands over the peer certificate even
when it is not verified (the LAN proxy's own CA is usually unknown to the server itself). The
certificate's end date is read from its DER bytes by :func:`certificate_not_after`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from lares.monitor.collectors import Context
from lares.monitor.config import Endpoint
from lares.monitor.metrics import Row, gauge, labels_of
from lares.monitor.rules import Condition, Inputs, fmt_days, rule
from lares.monitor.sample import Sample

if TYPE_CHECKING:
    import ssl

ID = "http"
DEFAULT_INTERVAL: float | None = 60.0
MAX_WORKERS = 8
USER_AGENT = "lares-watch"


@dataclass(frozen=True)
class Probe:
    """What one check found. ``cert_not_after`` is a Unix time."""

    up: bool
    status: int | None = None
    latency: float | None = None
    cert_not_after: float | None = None
    error: str = ""


def collect(ctx: Context) -> list[Sample]:
    endpoints = ctx.config.endpoints
    if not endpoints:
        return []
    from concurrent.futures import ThreadPoolExecutor

    timeout = ctx.config.http_timeout
    workers = min(MAX_WORKERS, len(endpoints))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lares-http") as pool:
        probes = list(pool.map(lambda e: probe(e, timeout), endpoints))
    out: list[Sample] = []
    for endpoint, found in zip(endpoints, probes, strict=True):
        out += samples(endpoint, found, now=ctx.now)
    return out


def probe(endpoint: Endpoint, timeout: float) -> Probe:
    """Check one endpoint; never raises (a failure is a :class:`Probe` that is not up)."""
    import http.client
    import socket
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint.url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    deadline = started + timeout

    def left() -> float:
        return max(deadline - time.monotonic(), 0.001)

    sock: socket.socket | None = None
    not_after = None
    try:
        sock = socket.create_connection((endpoint.address or host, port), timeout=timeout)
        # Without it the request waits on the ACK of the TLS Finished (Nagle meets delayed
        # ACK): 40 ms per check for nothing.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if https:
            sock.settimeout(left())
            sock = _tls(endpoint.verify).wrap_socket(sock, server_hostname=host)
            der = sock.getpeercert(binary_form=True)
            not_after = certificate_not_after(der) if der else None
        conn = http.client.HTTPConnection(host, port, timeout=left())
        conn.sock = sock
        sock.settimeout(left())
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        default = 443 if https else 80
        conn.putheader("Host", host if port == default else f"{host}:{port}")
        conn.putheader("User-Agent", USER_AGENT)
        conn.putheader("Connection", "close")
        conn.endheaders()
        response = conn.getresponse()
        latency = time.monotonic() - started
        status = response.status
        if status >= 500:
            error = f"HTTP {status} {response.reason}".strip()
            return Probe(False, status, latency, not_after, error)
        return Probe(True, status, latency, not_after)
    except ssl.SSLCertVerificationError as exc:
        return Probe(False, error=f"certificate not trusted: {exc.verify_message}")
    except TimeoutError:
        return Probe(False, cert_not_after=not_after, error=f"no answer within {timeout:g} s")
    except ConnectionRefusedError:
        return Probe(False, error="connection refused")
    except socket.gaierror:
        return Probe(False, error=f"cannot resolve {host}")
    except (OSError, http.client.HTTPException) as exc:
        return Probe(False, cert_not_after=not_after, error=f"{type(exc).__name__}: {exc}")
    finally:
        if sock is not None:
            sock.close()


@cache
def _tls(verify: bool) -> ssl.SSLContext:
    import ssl

    if verify:
        return ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def samples(endpoint: Endpoint, found: Probe, *, now: float) -> list[Sample]:
    labels = {"app": endpoint.app, "stack": endpoint.stack, "kind": endpoint.kind}
    url = endpoint.url
    out = [
        Sample(
            ID,
            url,
            "up",
            1.0 if found.up else 0.0,
            "up" if found.up else "down",
            found.error,
            labels,
        )
    ]
    if found.status is not None:
        out.append(Sample(ID, url, "status_code", float(found.status), labels=labels))
    if found.latency is not None:
        out.append(Sample(ID, url, "latency_seconds", round(found.latency, 4), labels=labels))
    if found.cert_not_after is not None:
        out.append(Sample(ID, url, "cert_not_after", found.cert_not_after, labels=labels))
        days = (found.cert_not_after - now) / 86400.0
        out.append(Sample(ID, url, "cert_days_left", round(days, 2), labels=labels))
    return out


def certificate_not_after(der: bytes) -> float | None:
    """The ``notAfter`` of a DER X.509 certificate, as a Unix time; None if it does not parse.

    Certificate → tbsCertificate → [version] serial signature issuer validity(notBefore,
    notAfter): five steps through the ASN.1, no library needed.
    """
    try:
        _, cert_start, _ = _tlv(der, 0)
        _, tbs_start, _ = _tlv(der, cert_start)
        position = tbs_start
        tag, _, end = _tlv(der, position)
        if tag == 0xA0:  # explicit [0] version
            position = end
            _, _, end = _tlv(der, position)
        for _ in range(2):  # past serialNumber: signature, then issuer
            position = end
            _, _, end = _tlv(der, position)
        tag, validity_start, _ = _tlv(der, end)
        _, _, not_before_end = _tlv(der, validity_start)
        tag, start, stop = _tlv(der, not_before_end)
        text = der[start:stop].decode("ascii")
    except (IndexError, ValueError):
        return None
    try:
        if tag == 0x17:  # UTCTime: YYMMDDHHMMSSZ
            when = datetime.strptime(text, "%y%m%d%H%M%SZ")
        elif tag == 0x18:  # GeneralizedTime: YYYYMMDDHHMMSSZ
            when = datetime.strptime(text, "%Y%m%d%H%M%SZ")
        else:
            return None
    except ValueError:
        return None
    return when.replace(tzinfo=UTC).timestamp()


def _tlv(data: bytes, position: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``position``."""
    tag = data[position]
    length = data[position + 1]
    start = position + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("DER element runs past the end")
    return tag, start, end


# ---------------------------------------------------------------------------------------------
# Rules: endpoints that do not answer or fail, certificates about to expire


@rule("endpoint-down", "cert")
def endpoints(x: Inputs) -> Iterator[Condition]:
    for sample in x.each("http", "up"):
        labels = sample.labels
        app = labels.get("app") or None
        kind = labels.get("kind", "")
        url = sample.subject
        if not sample.value:
            yield Condition(
                f"endpoint-down:{url}",
                "endpoint-down",
                "critical",
                url,
                f"{app or url} is not answering on its {kind} URL {url}: {sample.detail}",
                "http",
                app=app,
                labels={"kind": kind},
            )
        days = x.value("http", url, "cert_days_left")
        if days is None or days >= x.limits.cert_days:
            continue
        expired = days <= 0
        yield Condition(
            f"cert:{url}",
            "cert",
            "critical" if expired else "warning",
            url,
            f"the certificate of {url} "
            + ("has expired" if expired else f"expires in {fmt_days(days)}")
            + f" (warning below {x.limits.cert_days:g} days)",
            "http",
            app=app,
            hint="Caddy renews its own certificates: check its logs"
            if kind == "lan"
            else "check the tunnel's certificate renewal",
            labels={"kind": kind},
        )


RULES = (endpoints,)


# ---------------------------------------------------------------------------------------------
# Prometheus


def prometheus(s: Sample) -> Row | None:
    """The exporter-compatible series of a sample (see :mod:`lares.monitor.metrics`), or None."""
    labels = labels_of(s, "app", "kind", subject="instance")
    names = {
        "up": ("probe_success", "Whether the probe succeeded."),
        "latency_seconds": ("probe_duration_seconds", "How long the probe took."),
        "status_code": ("probe_http_status_code", "Response HTTP status code."),
        "cert_not_after": (
            "probe_ssl_earliest_cert_expiry",
            "Earliest SSL cert expiry in unixtime.",
        ),
    }
    return gauge(s, names, labels)
