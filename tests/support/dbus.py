"""A small blocking D-Bus client: method calls over a Unix socket, nothing else.

Enough for the accessibility tests to read the AT-SPI tree of another process:
EXTERNAL authentication, ``Hello``, method calls with arguments and replies of
the usual types, and the signals a match rule asks for, kept as they arrive
while a call waits. Little-endian only, as every bus the tests run on.

QtDBus is in PySide6, but it hands back structured replies (``a(so)``, the
children of an accessible object) as ``QDBusArgument`` objects that Python
cannot take apart; this reads the wire format itself.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import struct
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
_FIELD_CODES = {
    1: "o",  # PATH
    2: "s",  # INTERFACE
    3: "s",  # MEMBER
    4: "s",  # ERROR_NAME
    5: "u",  # REPLY_SERIAL
    6: "s",  # DESTINATION
    7: "s",  # SENDER
    8: "g",  # SIGNATURE
    9: "u",  # UNIX_FDS
}
_FIXED = {
    "y": ("<B", 1),
    "b": ("<I", 4),
    "n": ("<h", 2),
    "q": ("<H", 2),
    "i": ("<i", 4),
    "u": ("<I", 4),
    "x": ("<q", 8),
    "t": ("<Q", 8),
    "d": ("<d", 8),
    "h": ("<I", 4),
}


@dataclasses.dataclass(frozen=True)
class Signal:
    """A signal as it arrived."""

    sender: str
    path: str
    interface: str
    member: str
    values: list[Any]


class DBusError(Exception):
    """An error reply, or a bus that cannot be reached or spoken to."""

    def __init__(self, name: str, message: str = "") -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name


def split_signature(signature: str) -> list[str]:
    """The complete types of ``signature``, in order (``"sa(so)"`` gives s, a(so))."""
    types: list[str] = []
    position = 0
    while position < len(signature):
        end = _type_end(signature, position)
        types.append(signature[position:end])
        position = end
    return types


def _type_end(signature: str, start: int) -> int:
    code = signature[start]
    if code == "a":
        return _type_end(signature, start + 1)
    if code in "({":
        closing = ")" if code == "(" else "}"
        position = start + 1
        while signature[position] != closing:
            position = _type_end(signature, position)
        return position + 1
    return start + 1


def _alignment(code: str) -> int:
    if code in _FIXED:
        return _FIXED[code][1]
    return {"s": 4, "o": 4, "g": 1, "a": 4, "(": 8, "{": 8, "v": 1}[code]


class _Writer:
    def __init__(self) -> None:
        self.data = bytearray()

    def align(self, size: int) -> None:
        self.data += b"\0" * (-len(self.data) % size)

    def write(self, kind: str, value: Any) -> None:
        code = kind[0]
        self.align(_alignment(code))
        if code in _FIXED:
            self.data += struct.pack(_FIXED[code][0], value)
        elif code in "so":
            encoded = value.encode()
            self.data += struct.pack("<I", len(encoded)) + encoded + b"\0"
        elif code == "g":
            encoded = value.encode()
            self.data += bytes([len(encoded)]) + encoded + b"\0"
        elif code == "v":
            inner, content = value
            self.write("g", inner)
            self.write(inner, content)
        elif code == "(":
            for field, item in zip(split_signature(kind[1:-1]), value, strict=True):
                self.write(field, item)
        elif code == "a":
            self._write_array(kind[1:], value)
        else:
            raise ValueError(f"cannot write D-Bus type {kind!r}")

    def _write_array(self, element: str, value: Any) -> None:
        length_at = len(self.data)
        self.data += b"\0\0\0\0"
        self.align(_alignment(element[0]))
        start = len(self.data)
        if element[0] == "{":
            key, item = split_signature(element[1:-1])
            for entry_key, entry_value in value.items():
                self.align(8)
                self.write(key, entry_key)
                self.write(item, entry_value)
        else:
            for item in value:
                self.write(element, item)
        struct.pack_into("<I", self.data, length_at, len(self.data) - start)


class _Reader:
    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data = data
        self.position = position

    def align(self, size: int) -> None:
        self.position += -self.position % size

    def read(self, kind: str) -> Any:
        code = kind[0]
        self.align(_alignment(code))
        if code in _FIXED:
            form, size = _FIXED[code]
            (value,) = struct.unpack_from(form, self.data, self.position)
            self.position += size
            return bool(value) if code == "b" else value
        if code in "so":
            (length,) = struct.unpack_from("<I", self.data, self.position)
            start = self.position + 4
            self.position = start + length + 1
            return self.data[start : start + length].decode()
        if code == "g":
            length = self.data[self.position]
            start = self.position + 1
            self.position = start + length + 1
            return self.data[start : start + length].decode()
        if code == "v":
            inner = self.read("g")
            return self.read(inner)
        if code == "(":
            return tuple(self.read(field) for field in split_signature(kind[1:-1]))
        if code == "a":
            return self._read_array(kind[1:])
        raise ValueError(f"cannot read D-Bus type {kind!r}")

    def _read_array(self, element: str) -> Any:
        (length,) = struct.unpack_from("<I", self.data, self.position)
        self.position += 4
        self.align(_alignment(element[0]))
        end = self.position + length
        if element[0] == "{":
            key, item = split_signature(element[1:-1])
            entries: dict[Any, Any] = {}
            while self.position < end:
                self.align(8)
                entry_key = self.read(key)
                entries[entry_key] = self.read(item)
            return entries
        items = []
        while self.position < end:
            items.append(self.read(element))
        return items


def _socket_address(address: str) -> str | bytes:
    """The first Unix socket among the entries of a D-Bus address."""
    for entry in address.split(";"):
        transport, _, rest = entry.partition(":")
        if transport != "unix":
            continue
        options = dict(part.split("=", 1) for part in rest.split(",") if "=" in part)
        if "path" in options:
            return urllib.parse.unquote(options["path"])
        if "abstract" in options:
            return b"\0" + urllib.parse.unquote(options["abstract"]).encode()
    raise DBusError("org.freedesktop.DBus.Error.BadAddress", f"no Unix socket in {address!r}")


class Connection:
    """One connection to a bus; every call blocks until its reply (or ``timeout``)."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.settimeout(timeout)
        self._buffer = b""
        self._serial = 0
        self.signals: list[Signal] = []
        try:
            self._socket.connect(_socket_address(address))
            self._authenticate()
        except OSError as exc:
            self._socket.close()
            raise DBusError("org.freedesktop.DBus.Error.NoServer", str(exc)) from exc
        self.unique_name: str = self.call(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello"
        )[0]

    def close(self) -> None:
        """Hang up."""
        self._socket.close()

    def add_match(self, rule: str) -> None:
        """Have the bus send the signals ``rule`` matches (see :attr:`signals`)."""
        self.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "AddMatch",
            "s",
            (rule,),
        )

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _authenticate(self) -> None:
        uid = str(os.getuid()).encode().hex()
        self._socket.sendall(b"\0AUTH EXTERNAL " + uid.encode() + b"\r\n")
        line = self._read_line()
        if not line.startswith(b"OK "):
            raise DBusError("org.freedesktop.DBus.Error.AuthFailed", line.decode(errors="replace"))
        self._socket.sendall(b"BEGIN\r\n")

    def _read_line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            self._receive()
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _receive(self) -> None:
        chunk = self._socket.recv(65536)
        if not chunk:
            raise DBusError("org.freedesktop.DBus.Error.Disconnected", "the bus hung up")
        self._buffer += chunk

    def call(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        args: Sequence[Any] = (),
    ) -> list[Any]:
        """Call a method and return the values of its reply.

        Raises:
            DBusError: The reply is an error, or none came within the timeout.
        """
        self._serial += 1
        serial = self._serial
        body = _Writer()
        for code, value in zip(split_signature(signature), args, strict=True):
            body.write(code, value)
        fields: list[tuple[int, tuple[str, Any]]] = [
            (1, ("o", path)),
            (2, ("s", interface)),
            (3, ("s", member)),
            (6, ("s", destination)),
        ]
        if signature:
            fields.append((8, ("g", signature)))
        header = _Writer()
        for byte in (ord("l"), METHOD_CALL, 0, 1):  # little-endian, a call, no flags, version 1
            header.write("y", byte)
        header.write("u", len(body.data))
        header.write("u", serial)
        header.write("a(yv)", fields)
        header.align(8)
        self._socket.sendall(bytes(header.data) + bytes(body.data))
        deadline = time.monotonic() + self.timeout
        while True:
            kind, headers, values = self._next_message(deadline)
            if kind == SIGNAL:
                self.signals.append(
                    Signal(headers.get(7, ""), headers[1], headers.get(2, ""), headers[3], values)
                )
                continue
            if headers.get(5) != serial or kind not in (METHOD_RETURN, ERROR):
                continue  # a reply to nothing we wait for
            if kind == ERROR:
                text = values[0] if values and isinstance(values[0], str) else ""
                raise DBusError(str(headers.get(4, "org.freedesktop.DBus.Error.Failed")), text)
            return values

    def _next_message(self, deadline: float) -> tuple[int, dict[int, Any], list[Any]]:
        while True:
            if len(self._buffer) >= 16:
                body_length, fields_length = struct.unpack_from("<I4xI", self._buffer, 4)
                header_end = 16 + fields_length + (-(16 + fields_length) % 8)
                total = header_end + body_length
                if len(self._buffer) >= total:
                    message, self._buffer = self._buffer[:total], self._buffer[total:]
                    if message[0:1] != b"l":
                        raise DBusError("org.freedesktop.DBus.Error.Failed", "big-endian message")
                    reader = _Reader(message, 12)
                    headers = {code: value for code, value in reader.read("a(yv)")}
                    signature = headers.get(8, "")
                    reader = _Reader(message[header_end:])
                    values = [reader.read(kind) for kind in split_signature(signature)]
                    return message[1], headers, values
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DBusError("org.freedesktop.DBus.Error.NoReply", "no reply in time")
            self._socket.settimeout(remaining)
            try:
                self._receive()
            except TimeoutError as exc:
                raise DBusError("org.freedesktop.DBus.Error.NoReply", "no reply in time") from exc
