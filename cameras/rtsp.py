"""RTSP URL rules: what we accept, which hosts cameras (and webhook targets) may be on, and how passwords are kept
out of every output.

A URL is accepted only where every parser reads the same host in it (ours, urllib3's, ffmpeg's): no backslash, and a
host that is a DNS name or an IP address. A host is judged by every address it resolves to, and an IPv4 address
carried in an IPv6 one (mapped, NAT64, 6to4) as that IPv4 address; a name that resolves to nothing is refused, as
whatever connects later may resolve it elsewhere."""

import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from django.conf import settings
from urllib3.util import parse_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = {4: ipaddress.ip_address("127.0.0.1"), 6: ipaddress.ip_address("::1")}
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: its last 32 bits are the IPv4 address reached
# A host name as DNS spells it (urlsplit's hostname is lower case): no %-escapes, sub-delims or non-ASCII letters,
# which parsers decode, keep or refuse each in their own way.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
PASSWORD_MASK = "***"
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}
RTSP_SCHEMES = tuple(DEFAULT_PORTS)
# `scheme://user:password@` of any scheme. The password runs to the last `@` before a `/` or a space, so one with
# a raw `@` in it is masked whole.
_USERINFO = re.compile(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s/]*@")


class HostNotAllowed(ValueError):
    """The URL's host is, or resolves to, an address on a denied network. One fixed message: what the host is, or
    why it is denied, is not told."""

    def __init__(self, message: str = "host is not allowed") -> None:
        super().__init__(message)


class HostUnresolvable(HostNotAllowed):
    """The URL's host name resolves to no address (now: it may later, and elsewhere)."""

    def __init__(self) -> None:
        super().__init__("host does not resolve")


class PasswordNeeded(ValueError):
    """A masked password was sent with a URL that would take it to another host, port, scheme or user."""


def mask_credentials(text: str) -> str:
    """`text` with the password of every URL's `user:password@` in it replaced by ***.

    Mask first, then cut: a cut inside a URL's user info leaves a password this can no longer recognise."""
    return _USERINFO.sub(rf"\g<keep>{PASSWORD_MASK}@", text)


class MaskCredentials(logging.Filter):
    """Masks URL passwords in every record a handler writes (ffmpeg and ffprobe messages quote camera URLs),
    the traceback included. Installed on the handlers in settings.LOGGING."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format: written as it came, masked, not as an unmasked logging error
            message = record.msg = f"{record.msg} {record.args!r}"
            record.args = None
        masked = mask_credentials(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_credentials(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_credentials(record.stack_info)
        return True


def split_url(url: str, schemes: tuple[str, ...]) -> SplitResult:
    """`url` split, when it has one of `schemes`, a host and a valid port, and every parser reads the same host and
    port in it; raise ValueError saying what is wrong (worded to follow "URL ")."""
    if any(c.isspace() for c in url) or not url.isprintable():
        raise ValueError("must not contain whitespace or control characters")
    if "\\" in url:  # urllib3 (like browsers) ends the host at a backslash, urlsplit does not
        raise ValueError("must not contain a backslash (write it as %5C)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from exc
    if parts.scheme not in schemes:
        raise ValueError(f"must start with {' or '.join(f'{scheme}://' for scheme in schemes)}")
    host = parts.hostname
    if not host:
        raise ValueError("must name a host")
    bracketed = parts.netloc.rpartition("@")[2].startswith("[")
    if not (_is_ipv6(host) if bracketed else _HOST_NAME.fullmatch(host)):
        raise ValueError("must name its host by letters, digits, '-', '_' and '.', or by an IP address")
    try:
        theirs = parse_url(url)  # what urllib3 connects to
    except ValueError:  # its message quotes the URL, password included
        theirs = None
    if theirs is None or ((theirs.host or "").strip("[]"), theirs.port) != (host, port):
        raise ValueError("is not a valid URL (its host or port reads differently to another parser)")
    return parts


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6 and "%" not in host
    except ValueError:
        return False


def validate_rtsp_url(url: str) -> str:
    """Return the URL when it is rtsp:// or rtsps:// with an allowed host; raise ValueError otherwise."""
    split_url(url, RTSP_SCHEMES)
    try:
        check_host_allowed(url, settings.VMS_CAMERA_DENY_NETS)
    except HostUnresolvable as exc:
        raise ValueError("must name a host that resolves") from exc
    except HostNotAllowed as exc:
        raise ValueError("must name a host cameras may be on") from exc
    return url


def check_host_allowed(url: str, nets: Iterable[IPNetwork]) -> None:
    """Raise HostNotAllowed when the camera URL's host is, or resolves to, an address in `nets`
    (settings.VMS_CAMERA_DENY_NETS), or (HostUnresolvable) to none while `nets` is not empty.

    Checked when the URL is saved and again before each pipeline start, as a name may resolve elsewhere later. ffmpeg
    resolves the name again itself (and follows an RTSP server's redirect anywhere): keeping the recorders off
    internal networks for good takes the network's own egress rules."""
    nets = list(nets)
    if not nets:
        return
    try:
        host = split_url(url, RTSP_SCHEMES).hostname
    except ValueError as exc:  # stored before today's rules
        raise HostNotAllowed from exc
    allowed_addresses(host, nets)


def allowed_addresses(host: str, nets: Iterable[IPNetwork]) -> list[IPAddress]:
    """Every address `host` (a name or an IP address) resolves to, in the order to try them, when none is in `nets`;
    raise HostNotAllowed otherwise, HostUnresolvable when there is none."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise HostUnresolvable from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
    nets = list(nets)
    if any(reached in net for address in addresses for reached in _reached(address) for net in nets):
        raise HostNotAllowed
    return addresses


def _reached(address: IPAddress) -> list[IPAddress]:
    """The addresses a connection to `address` may end up at: itself, the IPv4 address an IPv6 one carries (a
    translating gateway goes on to it), and this host for an unspecified address (connecting to 0.0.0.0 or :: does)."""
    reached = [address]
    if address.version == 6:
        carried = address.ipv4_mapped or address.sixtofour
        if carried is None and address in NAT64:
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        reached += [carried] if carried is not None else []
    return reached + [LOOPBACK[a.version] for a in reached if a.is_unspecified]


def _with_password(url: str, password: str | None) -> str:
    parts = urlsplit(url)
    userinfo = quote(unquote(parts.username or ""), safe="")
    if password is not None:
        userinfo += ":" + quote(password, safe="")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}" if userinfo or password else host))


def _endpoint(url: str) -> tuple:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme), unquote(parts.username or "")


def keep_stored_password(new_url: str, stored_url: str | None) -> str:
    """A client that sends back the masked URL (edit forms do) keeps the stored password, but only for the stored
    scheme, host, port and user: raise PasswordNeeded rather than send the password anywhere else."""
    if stored_url is None or urlsplit(new_url).password != PASSWORD_MASK:
        return new_url
    if _endpoint(new_url) != _endpoint(stored_url):
        raise PasswordNeeded("has a masked password but a new host, port, scheme or user: send the password again")
    return _with_password(new_url, unquote(urlsplit(stored_url).password or "") or None)


def clean_camera_url(url: str, stored_url: str | None) -> str:
    """A camera URL as a client sent it (API body, admin form), as it is to be stored: checked by validate_rtsp_url,
    a masked password sent back replaced by the stored one (keep_stored_password). ValueError says what is wrong."""
    validate_rtsp_url(url)
    return keep_stored_password(url, stored_url)
