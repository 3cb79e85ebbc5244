"""The listening socket, bound before anything else starts.

`router serve` binds its port first, so a second instance on a busy port stops
with one line before it touches the database, starts a dispatcher or opens any
client session.
"""

from __future__ import annotations

import errno
import socket

from router.errors import ConfigError


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to host:port, not yet listening (connections are refused
    until the service is ready). Raises ConfigError when the address cannot be had.
    With `reuse_port`, several processes (router serve's workers) bind the same port
    and the kernel spreads the connections between those that listen."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise ConfigError(
            f"Cannot listen on {host}: {error.strerror}. Set --host or ROUTER_HOST to an "
            "address of this machine (127.0.0.1, 0.0.0.0, ::).",
            param="ROUTER_HOST",
        ) from error
    sock = socket.socket(family, kind, proto)
    try:
        # As aiohttp does: a restarted router may rebind while old connections linger.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise _bind_error(host, port, error) from error
    sock.setblocking(False)
    return sock


def _bind_error(host: str, port: int, error: OSError) -> ConfigError:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        message = (
            f"Port {port} on {host} is already in use (another router serve?). Stop that "
            "process, or choose another port with --port or ROUTER_PORT."
        )
    elif error.errno == errno.EACCES:
        message = f"Not allowed to listen on {where}: ports below 1024 need privileges."
    elif error.errno == errno.EADDRNOTAVAIL:
        message = f"Cannot listen on {where}: {host} is not an address of this machine."
    else:
        message = f"Cannot listen on {where}: {error.strerror}."
    return ConfigError(message, param="ROUTER_PORT")
