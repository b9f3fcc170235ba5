#!/usr/bin/env python3
"""A JSON client that is not serde (Python's json module, standard library only) against a running
rpcbench REST server: proof that the JSON a variant speaks is plain JSON any client can read and
write, and that the server decodes what such a client writes to the very same message.

Usage: json_peer_check.py LEVEL HOST:PORT, LEVEL being the server's JSON level:
  json, sonic  idiomatic JSON: camelCase names, 64-bit integers as numbers, bytes as base64
               strings, enums by name, the payload's oneof as {"body": {"<shape>": {...}}}
  pbjson       the proto3 JSON mapping: 64-bit integers as strings, the oneof flattened

For every shape the script fetches a payload as JSON, checks the types a client sees, re-encodes
it with Python's json module and uploads it: the server's digest (over the canonical protobuf of
what it decoded) must equal the digest of the same payload uploaded as protobuf. It also builds a
request from scratch (a 64-bit id above 2^53, an enum by name, base64 bytes)."""
import base64
import json
import sys
import urllib.error
import urllib.request

SHAPES = {"small": 200, "logs": 4096, "mesh": 4096, "nested": 4096, "metrics": 4096, "blob": 2048}


def request(base, method, path, body=None, content_type=None, accept="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method)
    req.add_header("Accept", accept)
    if content_type:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.headers.get("Content-Type"), resp.read()


def body_of(level, doc, shape):
    """The shape's object inside a Payload document."""
    if level == "pbjson":
        assert set(doc) == {shape}, f"pbjson flattens the oneof: {list(doc)}"
        return doc[shape]
    assert set(doc) == {"body"} and set(doc["body"]) == {shape}, f"externally tagged oneof: {list(doc)}"
    return doc["body"][shape]


def check_types(level, shape, obj):
    """What a JSON client sees: the types the README promises."""
    int64 = str if level == "pbjson" else int
    # pbjson leaves default values out; the idiomatic levels write every field.
    get = (lambda o, k, default: o.get(k, default)) if level == "pbjson" else (lambda o, k, _: o[k])
    if shape == "small":
        assert isinstance(get(obj, "id", ""), int64), obj.get("id")
        assert isinstance(get(obj, "createdAtUnixMs", ""), int64)
        assert isinstance(get(obj, "name", ""), str)
    elif shape == "logs":
        e = obj["entries"][0]
        assert isinstance(get(e, "size", ""), int64) and isinstance(get(e, "code", 0), int)
    elif shape == "mesh":
        v = obj["triangles"][0]["v0"]
        assert all(isinstance(v.get(k, 0.0), (int, float)) for k in "xyz"), v
    elif shape == "nested":
        a = obj["accounts"][0]
        tier = get(a, "tier", "TIER_UNSPECIFIED")
        assert isinstance(tier, str) and tier.startswith("TIER_"), tier
        assert isinstance(a.get("labels", {}), dict)
    elif shape == "metrics":
        s = obj["series"][0]
        assert all(isinstance(v, int64) for v in get(s, "values", [])), s.get("values", [])[:3]
    elif shape == "blob":
        data = obj["data"]
        assert isinstance(data, str), "bytes must be a base64 string, never an array"
        assert len(base64.b64decode(data, validate=True)) > 0


def upload(base, body, content_type):
    status, ct, raw = request(base, "POST", "/v1/payloads", body, content_type)
    assert status == 200 and ct.startswith("application/json"), (status, ct)
    return json.loads(raw)


def main() -> int:
    level, addr = sys.argv[1], sys.argv[2]
    assert level in ("json", "sonic", "pbjson"), level
    base = f"http://{addr}"
    for shape, size in SHAPES.items():
        path = f"/v1/payloads/{shape}?size={size}&seed=11"
        status, ct, raw = request(base, "GET", path)
        assert status == 200 and ct.startswith("application/json"), (status, ct)
        doc = json.loads(raw)
        check_types(level, shape, body_of(level, doc, shape))
        # Python's own encoding (its spacing, its float formatting, keys re-ordered).
        mine = json.dumps(doc, indent=1, sort_keys=True).encode()
        got = upload(base, mine, "application/json")
        _, _, pb = request(base, "GET", path, accept="application/x-protobuf")
        want = upload(base, pb, "application/x-protobuf")
        assert got == want, f"{shape}: digest of Python's JSON {got} != digest of protobuf {want}"
        print(f"  {shape:8} {len(raw):6} B of JSON decoded and re-encoded by Python: digest {got['digest']}")

    # A request written from scratch: a 64-bit id above 2^53, an enum by name, base64 bytes.
    big = 2**63 + 5
    small = {"id": big, "name": "peer", "email": "p@example.org", "active": True, "age": 7,
             "score": 0.5, "createdAtUnixMs": -12, "country": "NZ", "flags": 3, "ratio": 0.25, "note": ""}
    blob = {"contentType": "application/octet-stream", "data": base64.b64encode(bytes(range(256))).decode()}
    for shape, obj in (("small", small), ("blob", blob)):
        if level == "pbjson":
            obj = {k: (str(v) if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**31 else v)
                   for k, v in obj.items()}
            doc = {shape: obj}
        else:
            doc = {"body": {shape: obj}}
        summary = upload(base, json.dumps(doc).encode(), "application/json")
        assert summary["shape"] == f"SHAPE_{shape.upper()}", summary
        assert int(summary["records"]) == 1, summary
        status, _, raw = request(base, "POST", "/v1/echo", json.dumps(doc).encode(), "application/json")
        echoed = body_of(level, json.loads(raw), shape)
        if shape == "small":
            assert int(echoed["id"]) == big, echoed["id"]
        else:
            assert base64.b64decode(echoed["data"]) == bytes(range(256))
    print(f"  hand-built requests (64-bit id {big}, base64 bytes) accepted and echoed intact")

    # What such a client gets wrong is refused with a problem document, and the server goes on.
    try:
        request(base, "POST", "/v1/payloads", b'{"body": {"blob": {"data": [1, 2]}}}', "application/json")
        raise AssertionError("bytes as an array of numbers were accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and e.headers.get("Content-Type") == "application/problem+json", e.code
    assert request(base, "GET", "/healthz")[0] == 200
    print(f"JSON peer check ({level}) passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
