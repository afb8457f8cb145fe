"""Write TensorBoard event files (TFRecord framing, hand-encoded ``Event`` protos) without TensorFlow."""

from __future__ import annotations

import struct


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as TFRecord framing uses."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> bytes:
    crc = crc32c(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def _record(payload: bytes) -> bytes:
    header = struct.pack("<Q", len(payload))
    return header + _masked(header) + payload + _masked(payload)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits, value = value & 0x7F, value >> 7
        out.append(bits | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field_bytes(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _event(wall_time: float, step: int, extra: bytes) -> bytes:
    return b"\x09" + struct.pack("<d", wall_time) + b"\x10" + _varint(step) + extra


def scalar_events(scalars: dict[str, float], wall_time: float, step: int = 0) -> bytes:
    """An event file: the version record, then one summary event holding every scalar."""
    values = b"".join(
        _field_bytes(1, _field_bytes(1, tag.encode()) + b"\x15" + struct.pack("<f", value))
        for tag, value in scalars.items()
    )
    version = _event(wall_time, 0, _field_bytes(3, b"brain.Event:2"))
    summary = _event(wall_time, step, _field_bytes(5, values))
    return _record(version) + _record(summary)


def read_scalars(data: bytes) -> dict[str, float]:
    """Read back the scalars of an event file written by ``scalar_events`` (checks every CRC)."""
    scalars: dict[str, float] = {}
    offset = 0
    while offset < len(data):
        header = data[offset : offset + 8]
        (length,) = struct.unpack("<Q", header)
        if data[offset + 8 : offset + 12] != _masked(header):
            raise ValueError("bad length CRC")
        payload = data[offset + 12 : offset + 12 + length]
        if data[offset + 12 + length : offset + 16 + length] != _masked(payload):
            raise ValueError("bad data CRC")
        scalars.update(_scalars_in(payload))
        offset += 16 + length
    return scalars


def _fields(data: bytes) -> list[tuple[int, int, bytes]]:
    out, i = [], 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 2:
            size, i = _read_varint(data, i)
            out.append((number, wire, data[i : i + size]))
            i += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            out.append((number, wire, data[i : i + width]))
            i += width
        else:
            value, i = _read_varint(data, i)
            out.append((number, wire, _varint(value)))
    return out


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def _scalars_in(event: bytes) -> dict[str, float]:
    found: dict[str, float] = {}
    for number, _, summary in _fields(event):
        if number != 5:
            continue
        for _, _, value in _fields(summary):
            parts = {n: raw for n, _, raw in _fields(value)}
            found[parts[1].decode()] = struct.unpack("<f", parts[2])[0]
    return found
