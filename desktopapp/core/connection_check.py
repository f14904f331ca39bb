"""Why a network camera gives no picture, found by asking it the way a technician would.

OpenCV's capture only says "not opened". When it fails, Raiten looks up the camera's name,
knocks on its port and sends one RTSP DESCRIBE or HTTP GET (with the address's user name and
password, Basic or Digest as the camera asks), so that the operator reads "the password is
wrong" or "nothing answers at that port" instead of a bare failure. Nothing here reads or keeps
a picture; credentials never appear in the result.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import os
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"rtsp": 554, "http": 80, "https": 443}
# Content types a camera's HTTP picture stream comes as.
_PICTURE_TYPES = ("multipart/x-mixed-replace", "image/", "video/", "application/octet-stream")
_MAX_REPLY = 16_384


class Finding:
    """What the check found, as codes that SourceProblem shares."""

    HOST_NOT_FOUND = "host_not_found"  # params: host
    REFUSED = "refused"  # params: host, port
    TIMED_OUT = "timed_out"  # params: host, port
    WRONG_PASSWORD = "wrong_password"  # params: host, with_password ("yes"/"no")
    STREAM_NOT_FOUND = "stream_not_found"  # params: host, path
    NOT_VIDEO = "not_video"  # params: host, answer


@dataclass(frozen=True, slots=True)
class Diagnosis:
    finding: str
    reason: str  # one English sentence for the log and the command line
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query, never the credentials
    user: str
    password: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


def diagnose(location: str, timeout: float) -> Diagnosis | None:
    """Why the camera at ``location`` (rtsp:// or http(s)://) gives no picture, or None when
    it answers like a camera (the trouble is then in the stream itself)."""
    target = _target(location)
    if target is None:
        return None
    host = target.host
    try:
        socket.getaddrinfo(host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return Diagnosis(
            Finding.HOST_NOT_FOUND, f"No computer called {host} was found.", {"host": host}
        )
    where = {"host": host, "port": str(target.port)}
    try:
        connection = socket.create_connection((host, target.port), timeout=timeout)
    except ConnectionRefusedError:
        return Diagnosis(
            Finding.REFUSED, f"{host} refuses connections on port {target.port}.", where
        )
    except OSError as exc:  # timed out, host or network unreachable
        log.debug("connecting to %s:%d: %s", host, target.port, exc)
        return Diagnosis(Finding.TIMED_OUT, f"{host} does not answer on port {target.port}.", where)
    try:
        if target.scheme == "rtsp":
            return _check_rtsp(connection, target, timeout)
        connection.close()
        return _check_http(target, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        log.debug("asking %s: %s", host, exc)
        if isinstance(exc, TimeoutError | socket.timeout):
            return Diagnosis(Finding.TIMED_OUT, f"{host} stopped answering.", where)
        return _not_video(target, "no camera protocol")
    finally:
        connection.close()


def _target(location: str) -> _Target | None:
    try:
        parts = urlsplit(location)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(
        scheme,
        parts.hostname,
        port or _DEFAULT_PORTS[scheme],
        path,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


def _not_video(target: _Target, answer: str) -> Diagnosis:
    return Diagnosis(
        Finding.NOT_VIDEO,
        f"{target.host} answers, but not with a video stream ({answer}).",
        {"host": target.host, "answer": answer},
    )


def _refused_login(target: _Target) -> Diagnosis:
    given = "yes" if target.user else "no"
    reason = (
        "The user name or password for the camera is wrong."
        if target.user
        else "The camera asks for a user name and password."
    )
    return Diagnosis(Finding.WRONG_PASSWORD, reason, {"host": target.host, "with_password": given})


def _not_found(target: _Target) -> Diagnosis:
    path = target.path.split("?", 1)[0]
    return Diagnosis(
        Finding.STREAM_NOT_FOUND,
        f"{target.host} has no stream at {path}.",
        {"host": target.host, "path": path},
    )


# --- RTSP ------------------------------------------------------------------------------------


def _check_rtsp(connection: socket.socket, target: _Target, timeout: float) -> Diagnosis | None:
    connection.settimeout(timeout)
    status, headers = _rtsp_describe(connection, target, 1, None)
    if status == 401 and target.user:
        challenge = headers.get("www-authenticate", "")
        status, headers = _rtsp_describe(
            connection, target, 2, _authorization(challenge, target, "DESCRIBE")
        )
    return _verdict(status, target)


def _rtsp_describe(
    connection: socket.socket, target: _Target, sequence: int, authorization: str | None
) -> tuple[int, dict[str, str]]:
    lines = [
        f"DESCRIBE {target.url} RTSP/1.0",
        f"CSeq: {sequence}",
        "Accept: application/sdp",
        "User-Agent: Raiten",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    reply = b""
    while b"\r\n\r\n" not in reply and len(reply) < _MAX_REPLY:
        chunk = connection.recv(4096)
        if not chunk:
            break
        reply += chunk
    head = reply.split(b"\r\n\r\n", 1)[0].decode("latin-1", "replace")
    first, *rest = head.split("\r\n")
    match = re.match(r"RTSP/\d\.\d (\d{3})", first)
    if match is None:
        raise ValueError(f"not an RTSP reply: {first[:40]!r}")
    headers: dict[str, str] = {}
    for line in rest:
        name, _, value = line.partition(":")
        # Several challenges: prefer Digest, which every camera that offers it accepts.
        key = name.strip().lower()
        if key not in headers or value.strip().lower().startswith("digest"):
            headers[key] = value.strip()
    return int(match.group(1)), headers


# --- HTTP ------------------------------------------------------------------------------------


def _check_http(target: _Target, timeout: float) -> Diagnosis | None:
    status, content_type, challenge = _http_get(target, timeout, None)
    if status == 401 and target.user:
        status, content_type, challenge = _http_get(
            target, timeout, _authorization(challenge, target, "GET")
        )
    verdict = _verdict(status, target)
    if verdict is not None or status != 200:
        return verdict
    if not content_type.lower().startswith(_PICTURE_TYPES):
        return _not_video(target, content_type or "no content type")
    return None


def _http_get(target: _Target, timeout: float, authorization: str | None) -> tuple[int, str, str]:
    connection_class = (
        http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(target.host, target.port, timeout=timeout)
    try:
        headers = {"User-Agent": "Raiten"}
        if authorization:
            headers["Authorization"] = authorization
        connection.request("GET", target.path, headers=headers)
        response = connection.getresponse()
        # The body is a stream that never ends: only the head is read.
        return (
            response.status,
            response.getheader("Content-Type", ""),
            response.getheader("WWW-Authenticate", ""),
        )
    finally:
        connection.close()


# --- shared ----------------------------------------------------------------------------------


def _verdict(status: int, target: _Target) -> Diagnosis | None:
    if status in (401, 403):
        return _refused_login(target)
    if status in (404, 410):
        return _not_found(target)
    if status >= 400:
        return _not_video(target, f"error {status}")
    return None


def _authorization(challenge: str, target: _Target, method: str) -> str:
    """The Authorization header answering ``challenge`` (Basic or Digest, RFC 2617)."""
    if not challenge.lower().startswith("digest"):
        token = base64.b64encode(f"{target.user}:{target.password}".encode()).decode()
        return f"Basic {token}"
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge[len("digest") :]))
    realm, nonce = fields.get("realm", ""), fields.get("nonce", "")
    uri = target.url if target.scheme == "rtsp" else target.path

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1 = md5(f"{target.user}:{realm}:{target.password}")
    ha2 = md5(f"{method}:{uri}")
    parts = [
        f'username="{target.user}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
    ]
    if "auth" in fields.get("qop", "").split(","):
        cnonce = os.urandom(8).hex()
        response = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        parts += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
    else:
        response = md5(f"{ha1}:{nonce}:{ha2}")
    parts.append(f'response="{response}"')
    if "opaque" in fields:
        parts.append(f'opaque="{fields["opaque"]}"')
    return "Digest " + ", ".join(parts)
