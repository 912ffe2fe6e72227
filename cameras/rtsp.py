"""RTSP URL rules: what we accept, and how a password is hidden from every response."""

from urllib.parse import quote, unquote, urlsplit, urlunsplit

PASSWORD_MASK = "***"


def validate_rtsp_url(url: str) -> str:
    """Return the URL when it is rtsp:// or rtsps:// with a host; raise ValueError otherwise."""
    if any(c.isspace() for c in url):
        raise ValueError("must not contain whitespace")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from exc
    if parts.scheme not in ("rtsp", "rtsps"):
        raise ValueError("must start with rtsp:// or rtsps://")
    if not parts.hostname:
        raise ValueError("must name a host")
    return url


def _with_password(url: str, password: str | None) -> str:
    parts = urlsplit(url)
    userinfo = quote(unquote(parts.username or ""), safe="")
    if password is not None:
        userinfo += ":" + (password if password == PASSWORD_MASK else quote(password, safe=""))
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}" if userinfo or password else host))


def mask_password(url: str) -> str:
    """The URL as clients may see it: the password replaced by ***."""
    if urlsplit(url).password is None:
        return url
    return _with_password(url, PASSWORD_MASK)


def keep_stored_password(new_url: str, stored_url: str | None) -> str:
    """A client that sends back the masked URL (edit forms do) keeps the stored password."""
    if stored_url is None or urlsplit(new_url).password != PASSWORD_MASK:
        return new_url
    return _with_password(new_url, unquote(urlsplit(stored_url).password or "") or None)
