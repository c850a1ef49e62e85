"""The attestation: a JSON record of one DeltaOne decision that anyone can re-hash.

The hash covers canonical JSON of the attested facts only (sorted keys, compact separators,
UTF-8, no timestamp), so recomputing it needs nothing but the file:

    python -c "import json,hashlib,sys; a=json.load(open(sys.argv[1]))['attestation'];
    print(hashlib.sha256(json.dumps(a,sort_keys=True,separators=(',',':'),
    ensure_ascii=False).encode()).hexdigest())" attestation.json
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

FORMAT = "hokusai-attestation/2"  # 2: the baseline is the rewarded high-water mark


def canonical_json(data: Any) -> bytes:
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest(attestation: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(attestation)).hexdigest()


def finite_or_none(value: float | None) -> float | None:
    """JSON has no infinity: an infinite relative improvement (from a zero baseline) is null."""
    return value if value is None or math.isfinite(value) else None


def document(attestation: dict[str, Any], created_at: str) -> dict[str, Any]:
    """The file as written: the hashed part, its hash, and what is deliberately not hashed."""
    return {"attestation": attestation, "sha256": digest(attestation), "created_at": created_at}
