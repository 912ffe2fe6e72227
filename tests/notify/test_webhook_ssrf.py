"""Webhook targets an attacker with a tenant account would try: a URL two parsers read differently, a name that
resolves to nothing, an IPv4 address wrapped in IPv6. Real listeners on 127.0.0.0/8 (denied here, as in production)
must see no connection, whatever the subscription says and whether it is enabled (`/test` fires for both); an
allowed target is connected to at the address checked, under its own name (Host, SNI and certificate)."""

import random
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import psutil
import pytest

from cameras.rtsp import HostNotAllowed, allowed_addresses
from events.models import Delivery, Subscription
from events.notify import egress, webhooks
from vms.settings import WEBHOOK_DENY_NETS_DEFAULT, deny_nets

from .test_webhook_delivery import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

DENY_LOOPBACK = "127.0.0.0/8,::1/128,169.254.0.0/16,fe80::/10"


@contextmanager
def listener(host: str = "127.0.0.1", port: int = 0) -> Iterator[SimpleNamespace]:
    """A bare TCP listener in a thread: `.port`, and `.accepted`, every connection that reached it."""
    server = socket.create_server((host, port))
    accepted: list[tuple] = []

    def accept() -> None:
        while True:
            try:
                conn, peer = server.accept()
            except OSError:
                return
            accepted.append(peer)
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield SimpleNamespace(address=host, port=server.getsockname()[1], accepted=accepted)
    finally:
        server.close()


@contextmanager
def receiver(host: str = "127.0.0.1", context: ssl.SSLContext | None = None) -> Iterator[SimpleNamespace]:
    """An HTTP(S) receiver in a thread answering 200: `.port`, `.requests` (each one's Host header and, over TLS,
    the name the client asked for in SNI)."""
    requests: list[dict] = []
    sni: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            requests.append({"host": self.headers["Host"], "sni": sni[-1] if sni else None, "path": self.path})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    if context is not None:
        context.sni_callback = lambda sock, name, ctx: sni.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield SimpleNamespace(address=host, port=server.server_address[1], requests=requests)
    finally:
        server.shutdown()
        server.server_close()


def loopback_address() -> str:
    """An address of 127.0.0.0/8 no other test listens on."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


@pytest.fixture
def port_80():
    """A listener on port 80 of a loopback address, where urllib3 goes for `http://<address>\\.example/hook`."""
    try:
        with listener(loopback_address(), 80) as found:
            yield found
    except PermissionError:
        pytest.skip("binding port 80 needs root here")


def test_crafted_targets_reach_no_denied_listener(tenant_a, notify, port_80):
    with listener() as local, notify(relay=False, VMS_WEBHOOK_DENY_NETS=DENY_LOOPBACK):
        refused = {
            f"http://{port_80.address}\\.example/hook": "target URL must not contain a backslash (write it as %5C)",
            f"http://[::ffff:127.0.0.1]:{local.port}/hook": "target host is not allowed",
            f"http://[64:ff9b::7f00:1]:{local.port}/hook": "target host is not allowed",  # NAT64
            f"http://[2002:7f00:1::]:{local.port}/hook": "target host is not allowed",  # 6to4
            f"http://[::ffff:0.0.0.0]:{local.port}/hook": "target host is not allowed",
            f"http://nothing.invalid:{local.port}/hook": "could not resolve the host",
        }
        for url in refused:
            for enabled in (True, False):  # a test delivery goes to a disabled subscription too
                webhooks.send_test(Subscription.objects.create(tenant=tenant_a, url=url, enabled=enabled))
        wait_for(lambda: not Delivery.objects.filter(attempts=0).exists(), what="every delivery attempted")
        assert local.accepted == [] and port_80.accepted == []

    got = dict(Delivery.objects.values_list("subscription__url", "last_error").distinct())
    assert got == refused
    assert not Delivery.objects.filter(response_code__isnull=False).exists()


def test_an_attempt_connects_to_the_address_checked_under_the_name(settings):
    """`localhost` resolves to 127.0.0.1 only: a request that arrives on another address of 127.0.0.0/8 came to
    the address the check handed on, not to a lookup of its own."""
    settings.VMS_WEBHOOK_DENY_NETS = []
    with receiver(host=loopback_address()) as hook:
        checked = egress.target(f"http://localhost:{hook.port}/hook?x=1")
        assert checked.address == "127.0.0.1"
        answer = egress.send(checked._replace(address=hook.address), b"{}", {"Content-Type": "application/json"})
    assert answer.status == 200
    assert hook.requests == [{"host": f"localhost:{hook.port}", "sni": None, "path": "/hook?x=1"}]


def test_https_keeps_the_name_for_sni_and_the_certificate(tenant_a, notify, tmp_path):
    """The connection goes to 127.0.0.1, but TLS asks for, and checks the certificate against, `localhost`."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with receiver(context=context) as hook, notify(relay=False, REQUESTS_CA_BUNDLE=str(cert)):
        subscription = Subscription.objects.create(tenant=tenant_a, url=f"https://localhost:{hook.port}/hook")
        webhooks.send_test(subscription)
        wait_for(lambda: hook.requests, what="the test delivery over TLS")

    assert hook.requests == [{"host": f"localhost:{hook.port}", "sni": "localhost", "path": "/hook"}]
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.state, delivery.response_code) == ("delivered", 200)


def test_the_default_deny_list_holds_this_hosts_own_addresses(monkeypatch):
    monkeypatch.delenv("VMS_WEBHOOK_DENY_NETS")
    nets = deny_nets("VMS_WEBHOOK_DENY_NETS", WEBHOOK_DENY_NETS_DEFAULT)
    own = [
        a.address.partition("%")[0]
        for addresses in psutil.net_if_addrs().values()
        for a in addresses
        if a.family in (socket.AF_INET, socket.AF_INET6)
    ]
    assert any(not address.startswith(("127.", "::1")) for address in own), "this host has only loopback"
    for address in [*own, "169.254.169.254", "::ffff:169.254.169.254", "localhost"]:
        with pytest.raises(HostNotAllowed):
            allowed_addresses(address, nets)
    assert [str(a) for a in allowed_addresses("198.51.100.7", nets)] == ["198.51.100.7"]
    monkeypatch.setenv("VMS_WEBHOOK_DENY_NETS", "10.0.0.0/8")  # an operator's list replaces the default
    assert [str(n) for n in deny_nets("VMS_WEBHOOK_DENY_NETS", WEBHOOK_DENY_NETS_DEFAULT)] == ["10.0.0.0/8"]
