#!/usr/bin/env python3
"""Writes fuzz seed corpora from the shared fixtures and benchmarks (never committed).

Usage: make_seeds.py SHARED_DIR OUT_DIR [MAX_SEEDS]

OUT_DIR/raw_bytecode gets one input per distinct contract code found in the state tests and
benchmarks, in that target's format: [revision][gas][calldata length][calldata][code], with the
calldata of the transaction that calls the contract (if any) and the fixture's newest fork.
OUT_DIR/structured gets the same bytes (the generator reads them as choices: any bytes are a
valid input, and these are varied ones). OUT_DIR/set_option gets option records.

MAX_SEEDS (default 1500) bounds the code seeds: libFuzzer runs every seed once before it starts
mutating, and under AddressSanitizer with the JIT modes compiling each one, 7,000 seeds take
several minutes. The benchmark contracts are always kept; the fixture codes are a fixed sample
(the first by hash).
"""
import hashlib
import json
import os
import sys

REVISIONS = {
    "Frontier": 0, "Homestead": 1, "EIP150": 2, "EIP158": 3, "Byzantium": 4,
    "Constantinople": 5, "ConstantinopleFix": 6, "Petersburg": 6, "Istanbul": 7, "Berlin": 8,
    "London": 9, "Paris": 10, "Merge": 10, "Shanghai": 11, "Cancun": 12, "Prague": 13, "Osaka": 14,
}
MAX_CODE = 24576 + 1024


def unhex(s):
    if not isinstance(s, str) or not s.startswith("0x"):
        return None
    try:
        return bytes.fromhex(s[2:])
    except ValueError:
        return None


def cases(path):
    with open(path) as f:
        doc = json.load(f)
    for case in doc.values():
        if isinstance(case, dict) and isinstance(case.get("pre"), dict):
            yield case


def main():
    shared, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 1500
    seen = set()
    seeds = []
    kept = []
    roots = [os.path.join(shared, "fixtures", "state_tests"), os.path.join(shared, "benchmarks")]
    for root in roots:
        for dirpath, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                if not name.endswith(".json"):
                    continue
                try:
                    docs = list(cases(os.path.join(dirpath, name)))
                except (ValueError, OSError):
                    continue
                for case in docs:
                    forks = [REVISIONS[f] for f in case.get("post", {}) if f in REVISIONS]
                    rev = max(forks, default=12)
                    tx = case.get("transaction", {})
                    to = (tx.get("to") or "").lower()
                    data = [unhex(d) for d in tx.get("data", [])]
                    data = [d for d in data if d is not None]
                    for addr, acct in case["pre"].items():
                        code = unhex(acct.get("code", "0x"))
                        if not code or len(code) > MAX_CODE:
                            continue
                        calldata = data[0] if data and addr.lower() == to else b""
                        calldata = calldata[:255]
                        key = hashlib.sha256(code + calldata).digest()
                        if key in seen:
                            continue
                        seen.add(key)
                        seed = bytes([rev, 3, len(calldata)]) + calldata + code
                        (kept if "benchmarks" in root else seeds).append((key, seed))
    seeds.sort()
    seeds = [s for _, s in kept] + [s for _, s in seeds[: max(0, limit - len(kept))]]
    options = [
        b"\x00mode\x00interpreter\x00",
        b"\x00mode\x00multipass\x00\x00mode\x00lazy\x00",
        b"\x00enable_lazy_compile\x00true\x00\x00enable_lazy_compile\x000\x00",
        b"\x01\x00\x00\x02mode\x00\x00",
    ]
    for target, items in (("raw_bytecode", seeds), ("structured", seeds), ("set_option", options)):
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for item in items:
            with open(os.path.join(d, hashlib.sha1(item).hexdigest()), "wb") as f:
                f.write(item)
        print(f"{target}: {len(items)} seeds in {d}")


if __name__ == "__main__":
    main()
