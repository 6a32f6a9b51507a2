"""Loaded by every Python process started with this folder on PYTHONPATH: outbound sockets are refused.

Only loopback (127.0.0.0/8, ::1) and Unix sockets may connect. Every other attempt is appended to the
file named by $NETGUARD_LOG and fails with PermissionError, so a test can assert the app tried nothing.
"""

import ipaddress
import os
import socket

_LOG = os.environ.get("NETGUARD_LOG")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _loopback(host):
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _record(what):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(what + "\n")


def _check(sock, address):
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _loopback(str(host)):
        _record(f"connect {address!r}")
        raise PermissionError(f"netguard: outbound connection to {address!r} blocked")


def _connect(self, address):
    _check(self, address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    _check(self, address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host, *args, **kwargs):
    if host is not None and not _loopback(str(host)) and not str(host).replace(".", "").isdigit():
        _record(f"resolve {host!r}")
        raise socket.gaierror(f"netguard: name resolution of {host!r} blocked")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
socket.getaddrinfo = _getaddrinfo
