"""One webhook POST on the wire, and what its answer means.

The target is checked before every attempt: its URL parsed as the connection will read it, its name resolved once,
every address judged against VMS_WEBHOOK_DENY_NETS (cameras.rtsp), and the connection made to the address judged,
never to a second lookup's (the Host header, TLS SNI and the certificate check keep the name). Connections are kept
alive between deliveries, per address and name.

Where the environment names an egress proxy for the host (HTTPS_PROXY/HTTP_PROXY, less NO_PROXY), the same checks
run here, but the proxy connects and resolves the name again itself: keeping a name that rebinds off internal
networks is then the proxy's rules' job.
"""

import functools
import os
import urllib.request
from typing import NamedTuple

import urllib3
from django.conf import settings

from cameras.rtsp import HostNotAllowed, HostUnresolvable, allowed_addresses, split_url

CONNECT_TIMEOUT_S = 3.0
ANSWER_READ_BYTES = 4096  # an answer this short is read to its end, so that its connection is kept for the next
POOL_HOSTS = 100  # target addresses whose connections are kept open between deliveries (least recently used go)
POOL_CONNECTIONS = 4  # kept per address; more threads sending to one open extra ones and close them after
RETRYABLE = {408, 429}  # the 4xx answers that mean "later", not "never"


class Refused(Exception):
    """The target may not be contacted (a denied network, plain http where not allowed, an ambiguous URL)."""


class Target(NamedTuple):
    scheme: str
    host: str  # as the URL names it: what Host, SNI and the certificate check are about
    port: int
    netloc: str  # the Host header
    path: str  # with the query
    address: str  # where to connect: the first address the host resolved to, every one of them allowed


class Outcome(NamedTuple):
    code: int | None  # the HTTP status, if one came
    error: str = ""  # short and readable; never the URL (it may carry credentials) nor the secret
    retry: bool = False
    retry_after: float | None = None


def target(url: str) -> Target:
    """Where `url` may be sent now; raise Refused, or HostUnresolvable (the name resolves to nothing now)."""
    try:
        parts = split_url(url, ("https", "http"))
    except ValueError as exc:  # stored before today's rules
        raise Refused(f"target URL {exc}") from exc
    if parts.scheme != "https" and not settings.VMS_WEBHOOK_ALLOW_HTTP:
        raise Refused("plain http targets are not allowed")
    try:
        addresses = allowed_addresses(parts.hostname, settings.VMS_WEBHOOK_DENY_NETS)
    except HostUnresolvable:
        raise
    except HostNotAllowed as exc:
        raise Refused("target host is not allowed") from exc
    path = parts.path or "/"
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=parts.port or (443 if parts.scheme == "https" else 80),
        netloc=parts.netloc.rpartition("@")[2],
        path=f"{path}?{parts.query}" if parts.query else path,
        address=str(addresses[0]),
    )


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url` once (checked first) and judge the answer; never raises."""
    try:
        response = send(target(url), body, headers)
        # Read to its end, the connection goes back to the pool; a longer answer's connection is closed instead.
        response.read(ANSWER_READ_BYTES, decode_content=False)
        response.close()
        response.release_conn()
    except Refused as exc:
        return Outcome(None, str(exc))
    except HostUnresolvable:  # perhaps for a moment: tried again, and checked again
        return Outcome(None, "could not resolve the host", retry=True)
    except urllib3.exceptions.NewConnectionError:  # a ConnectTimeoutError too, in urllib3's hierarchy
        return Outcome(None, "could not connect", retry=True)
    except urllib3.exceptions.TimeoutError:
        return Outcome(None, "timed out", retry=True)
    except urllib3.exceptions.HTTPError:  # reset, closed early, TLS, proxy
        return Outcome(None, "could not connect", retry=True)
    except Exception as exc:  # anything else: retried like a receiver that is away
        return Outcome(None, f"could not send ({type(exc).__name__})", retry=True)
    code = response.status
    if 200 <= code < 300:
        return Outcome(code)
    retry_after = _retry_after(response.headers.get("Retry-After")) if code in (429, 503) else None
    return Outcome(code, f"HTTP {code}", code >= 500 or code in RETRYABLE, retry_after)


def send(target: Target, body: bytes, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
    """The answer to one POST to `target`: straight to its address, or through the environment's proxy for it.
    urllib3 rather than requests: a third of the CPU a delivery takes, and no ~/.netrc, whose credentials must
    never reach a tenant's host."""
    options = {
        "body": body,
        "timeout": urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=settings.VMS_WEBHOOK_TIMEOUT),
        "retries": False,
        "redirect": False,
        "preload_content": False,  # the answer's body is never used: at most ANSWER_READ_BYTES of it are read
    }
    proxies = _environment_proxies()
    proxy = None if urllib.request.proxy_bypass_environment(target.host, proxies) else proxies.get(target.scheme)
    if proxy:
        url = f"{target.scheme}://{target.netloc}{target.path}"
        return _connections(proxy).request("POST", url, headers=headers, **options)
    pool = _connections(None).connection_from_host(
        target.address, target.port, target.scheme, pool_kwargs={"server_hostname": target.host}
    )
    return pool.urlopen("POST", target.path, headers={**headers, "Host": target.netloc}, **options)


@functools.cache
def _environment_proxies() -> dict[str, str]:
    return urllib.request.getproxies_environment()  # once: reading it walks the whole environment


@functools.cache
def _connections(proxy: str | None) -> urllib3.PoolManager:
    """Kept for the process's life and shared by its threads, so a drain reuses the last one's connections."""
    options = {
        "num_pools": POOL_HOSTS,
        "maxsize": POOL_CONNECTIONS,
        # The system's trust store (or SSL_CERT_FILE), unless a bundle is named as for requests and curl.
        "ca_certs": os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None,
    }
    return urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value or "")
    except ValueError:
        return None  # an HTTP date, or nonsense: the usual back-off
    return min(max(seconds, 0.0), settings.VMS_WEBHOOK_RETRY_MAX)
