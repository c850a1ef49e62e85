"""EIP-55 checksums for Ethereum addresses, with a pure-Python Keccak-256.

Ethereum's Keccak-256 predates the final SHA-3 standard and pads differently, so
`hashlib.sha3_256` gives other digests. The sponge below is the original Keccak
(rate 1088 bits, padding 0x01 ... 0x80): fast enough for a handful of addresses, and it
spares the hook a compiled dependency.
"""

from __future__ import annotations

import re
from functools import lru_cache

_MASK = (1 << 64) - 1
_ROUND_CONSTANTS = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)  # fmt: skip
# Rotation offsets, indexed [x][y] (inlined in the unrolled `_keccak_f`).
_ROTATIONS = (
    (0, 36, 3, 41, 18),
    (1, 44, 10, 45, 2),
    (62, 6, 43, 15, 61),
    (28, 55, 25, 21, 56),
    (27, 20, 39, 8, 14),
)
_RATE = 136  # bytes: 1600-bit state minus 2 * 256-bit capacity

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _keccak_f(state: list[int]) -> None:
    """Keccak-f[1600] in place: 24 rounds of theta, rho and pi, chi, iota. Unrolled, with the
    25 lanes in local variables (lane x, y is `a{x + 5y}`): this is the hot loop."""
    m = _MASK
    a00, a01, a02, a03, a04 = state[0:5]
    a05, a06, a07, a08, a09 = state[5:10]
    a10, a11, a12, a13, a14 = state[10:15]
    a15, a16, a17, a18, a19 = state[15:20]
    a20, a21, a22, a23, a24 = state[20:25]
    for rc in _ROUND_CONSTANTS:
        c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20
        c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21
        c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22
        c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23
        c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24
        d0 = c4 ^ (((c1 << 1) | (c1 >> 63)) & m)
        d1 = c0 ^ (((c2 << 1) | (c2 >> 63)) & m)
        d2 = c1 ^ (((c3 << 1) | (c3 >> 63)) & m)
        d3 = c2 ^ (((c4 << 1) | (c4 >> 63)) & m)
        d4 = c3 ^ (((c0 << 1) | (c0 >> 63)) & m)
        b00 = a00 ^ d0
        t = a05 ^ d0
        b16 = ((t << 36) | (t >> 28)) & m
        t = a10 ^ d0
        b07 = ((t << 3) | (t >> 61)) & m
        t = a15 ^ d0
        b23 = ((t << 41) | (t >> 23)) & m
        t = a20 ^ d0
        b14 = ((t << 18) | (t >> 46)) & m
        t = a01 ^ d1
        b10 = ((t << 1) | (t >> 63)) & m
        t = a06 ^ d1
        b01 = ((t << 44) | (t >> 20)) & m
        t = a11 ^ d1
        b17 = ((t << 10) | (t >> 54)) & m
        t = a16 ^ d1
        b08 = ((t << 45) | (t >> 19)) & m
        t = a21 ^ d1
        b24 = ((t << 2) | (t >> 62)) & m
        t = a02 ^ d2
        b20 = ((t << 62) | (t >> 2)) & m
        t = a07 ^ d2
        b11 = ((t << 6) | (t >> 58)) & m
        t = a12 ^ d2
        b02 = ((t << 43) | (t >> 21)) & m
        t = a17 ^ d2
        b18 = ((t << 15) | (t >> 49)) & m
        t = a22 ^ d2
        b09 = ((t << 61) | (t >> 3)) & m
        t = a03 ^ d3
        b05 = ((t << 28) | (t >> 36)) & m
        t = a08 ^ d3
        b21 = ((t << 55) | (t >> 9)) & m
        t = a13 ^ d3
        b12 = ((t << 25) | (t >> 39)) & m
        t = a18 ^ d3
        b03 = ((t << 21) | (t >> 43)) & m
        t = a23 ^ d3
        b19 = ((t << 56) | (t >> 8)) & m
        t = a04 ^ d4
        b15 = ((t << 27) | (t >> 37)) & m
        t = a09 ^ d4
        b06 = ((t << 20) | (t >> 44)) & m
        t = a14 ^ d4
        b22 = ((t << 39) | (t >> 25)) & m
        t = a19 ^ d4
        b13 = ((t << 8) | (t >> 56)) & m
        t = a24 ^ d4
        b04 = ((t << 14) | (t >> 50)) & m
        a00 = b00 ^ (~b01 & b02)
        a01 = b01 ^ (~b02 & b03)
        a02 = b02 ^ (~b03 & b04)
        a03 = b03 ^ (~b04 & b00)
        a04 = b04 ^ (~b00 & b01)
        a05 = b05 ^ (~b06 & b07)
        a06 = b06 ^ (~b07 & b08)
        a07 = b07 ^ (~b08 & b09)
        a08 = b08 ^ (~b09 & b05)
        a09 = b09 ^ (~b05 & b06)
        a10 = b10 ^ (~b11 & b12)
        a11 = b11 ^ (~b12 & b13)
        a12 = b12 ^ (~b13 & b14)
        a13 = b13 ^ (~b14 & b10)
        a14 = b14 ^ (~b10 & b11)
        a15 = b15 ^ (~b16 & b17)
        a16 = b16 ^ (~b17 & b18)
        a17 = b17 ^ (~b18 & b19)
        a18 = b18 ^ (~b19 & b15)
        a19 = b19 ^ (~b15 & b16)
        a20 = b20 ^ (~b21 & b22)
        a21 = b21 ^ (~b22 & b23)
        a22 = b22 ^ (~b23 & b24)
        a23 = b23 ^ (~b24 & b20)
        a24 = b24 ^ (~b20 & b21)
        a00 ^= rc
    state[0:5] = a00, a01, a02, a03, a04
    state[5:10] = a05, a06, a07, a08, a09
    state[10:15] = a10, a11, a12, a13, a14
    state[15:20] = a15, a16, a17, a18, a19
    state[20:25] = a20, a21, a22, a23, a24


def keccak256(data: bytes) -> bytes:
    padded = bytearray(data)
    padded.append(0x01)
    padded.extend(b"\x00" * (-len(padded) % _RATE))
    padded[-1] |= 0x80
    state = [0] * 25
    for offset in range(0, len(padded), _RATE):
        for i in range(_RATE // 8):
            start = offset + 8 * i
            state[i] ^= int.from_bytes(padded[start : start + 8], "little")
        _keccak_f(state)
    return b"".join(lane.to_bytes(8, "little") for lane in state[:4])


@lru_cache(maxsize=1024)
def to_checksum_address(address: str) -> str:
    """The EIP-55 mixed-case form of a `0x` + 40 hex address."""
    hex_part = address[2:].lower()
    digest = keccak256(hex_part.encode("ascii")).hex()
    return "0x" + "".join(
        ch.upper() if ch.isalpha() and int(digest[i], 16) >= 8 else ch
        for i, ch in enumerate(hex_part)
    )


def has_valid_checksum(address: str) -> bool:
    """All-lowercase and all-uppercase addresses carry no checksum and pass, as EIP-55 says."""
    hex_part = address[2:]
    if hex_part == hex_part.lower() or hex_part == hex_part.upper():
        return True
    return to_checksum_address(address) == address
