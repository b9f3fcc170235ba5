#!/usr/bin/env python3
"""The reference proto3 JSON mapping (Python protobuf's json_format) as an oracle for rpcbench's
`pbjson` codec level. Driven by proto/tests/proto3_json.rs, which compares the answers.

Reads one JSON document on stdin:
  {"descriptor_set": HEX, "cases": [{"id": .., "type": "rpcbench.v1.X", "json": STR,
                                     "proto": HEX or null}, ...]}
and writes one JSON document on stdout:
  {"protobuf_version": .., "results": [{"id": .., "parse": {"ok": true, "proto": HEX} or
                                        {"ok": false, "error": STR},
                                        "print": STR or null}, ...]}
"parse" is json_format.Parse of the case's JSON (our encoder's output, or a hand-written edge
input), serialized deterministically; "print" is json_format.MessageToJson of the case's protobuf
bytes (for our decoder to read). The schema comes from the descriptor set our build compiled, so
no protoc is needed."""
import json
import sys

import google.protobuf
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def main():
    doc = json.load(sys.stdin)
    fds = descriptor_pb2.FileDescriptorSet.FromString(bytes.fromhex(doc["descriptor_set"]))
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    classes = {}

    def cls(name):
        if name not in classes:
            classes[name] = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
        return classes[name]

    results = []
    for case in doc["cases"]:
        msg_cls = cls(case["type"])
        out = {"id": case["id"]}
        try:
            msg = json_format.Parse(case["json"], msg_cls())
            out["parse"] = {"ok": True, "proto": msg.SerializeToString(deterministic=True).hex()}
        except Exception as e:  # noqa: BLE001 - every refusal is an answer
            out["parse"] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        if case.get("proto") is not None:
            msg = msg_cls.FromString(bytes.fromhex(case["proto"]))
            out["print"] = json_format.MessageToJson(msg, indent=None)
        else:
            out["print"] = None
        results.append(out)
    json.dump({"protobuf_version": google.protobuf.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
