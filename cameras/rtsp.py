"""RTSP URL rules: what we accept, which hosts cameras (and webhook targets) may be on, and how passwords are kept
out of every output."""

import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from django.conf import settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = {4: ipaddress.ip_address("127.0.0.1"), 6: ipaddress.ip_address("::1")}
PASSWORD_MASK = "***"
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}
# `scheme://user:password@` of any scheme. The password runs to the last `@` before a `/` or a space, so one with
# a raw `@` in it is masked whole.
_USERINFO = re.compile(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s/]*@")


class HostNotAllowed(ValueError):
    """The URL's host is, or resolves to, an address on a denied network. One fixed message: what the host is, or
    why it is denied, is not told."""

    def __init__(self) -> None:
        super().__init__("host is not allowed")


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
    """`url` split, when it has one of `schemes`, a host and a valid port and no whitespace or control characters;
    raise ValueError saying what is wrong (worded to follow "URL ")."""
    if any(c.isspace() for c in url) or not url.isprintable():
        raise ValueError("must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from exc
    if parts.scheme not in schemes:
        raise ValueError(f"must start with {' or '.join(f'{scheme}://' for scheme in schemes)}")
    if not parts.hostname:
        raise ValueError("must name a host")
    return parts


def validate_rtsp_url(url: str) -> str:
    """Return the URL when it is rtsp:// or rtsps:// with an allowed host; raise ValueError otherwise."""
    split_url(url, ("rtsp", "rtsps"))
    try:
        check_host_allowed(url, settings.VMS_CAMERA_DENY_NETS)
    except HostNotAllowed as exc:
        raise ValueError("must name a host cameras may be on") from exc
    return url


def check_host_allowed(url: str, nets: Iterable[IPNetwork]) -> None:
    """Raise HostNotAllowed when the URL's host is, or resolves to, an address in `nets` (a camera's
    settings.VMS_CAMERA_DENY_NETS, a webhook's settings.VMS_WEBHOOK_DENY_NETS).

    Checked when the URL is saved and again before each use (pipeline start, webhook attempt), as a name may resolve
    elsewhere later."""
    nets = list(nets)
    host = unquote(urlsplit(url).hostname or "")
    if not nets or not host:
        return
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            addresses = {ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except (OSError, UnicodeError):
            return  # resolves to nothing: ffmpeg cannot reach anything through it either
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
        reached = [a for a in (address, mapped) if a is not None]
        reached += [LOOPBACK[a.version] for a in reached if a.is_unspecified]  # connecting to 0.0.0.0 or :: does
        if any(a in net for a in reached for net in nets):
            raise HostNotAllowed


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
