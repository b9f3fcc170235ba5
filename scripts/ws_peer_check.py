#!/usr/bin/env python3
"""Streams from a running rpcbench REST server with a standard WebSocket client (the `websockets`
package): a feed of JSON text frames, a chat echo in JSON text and protobuf binary frames, and a
broadcast room. Usage: ws_peer_check.py HOST:PORT"""
import asyncio
import json
import sys
import urllib.request

import websockets


async def main(addr: str) -> None:
    base = f"ws://{addr}"
    # No permessage-deflate offered: rpcbench never compresses frames (fairness with gRPC).
    kw = {"compression": None, "max_size": 16 << 20}
    count = 40
    async with websockets.connect(f"{base}/v1/ws/feed/small?size=256&seed=1&count={count}&interval_ns=1000000", **kw) as ws:
        msgs = [json.loads(m) async for m in ws]
        seqs = [int(m.get("seq", "0")) for m in msgs]
        assert seqs == list(range(count)), seqs
        # The payload as this server's JSON level writes it, sent back below.
        payload = msgs[0]["payload"]
        assert ws.close_code == 1000, ws.close_code
    async with websockets.connect(f"{base}/v1/ws/chat", **kw) as ws:
        for i in range(10):
            msg = json.dumps({"seq": i, "payload": payload})
            await ws.send(msg)
            echo = json.loads(await ws.recv())
            assert int(echo.get("seq", 0)) == i and echo["payload"] == payload, echo
        # A protobuf binary frame: StreamMessage{seq: 7} is field 1 varint 7.
        await ws.send(b"\x08\x07")
        assert await ws.recv() == b"\x08\x07"
    async with websockets.connect(f"{base}/v1/ws/rooms/peer-ws?count=3", **kw) as ws:
        for i in range(3):
            body = json.dumps({"seq": i, "payload": payload}).encode()
            req = urllib.request.Request(f"http://{addr}/v1/rooms/peer-ws/messages", data=body,
                                         headers={"Content-Type": "application/json"})
            ack = json.loads(urllib.request.urlopen(req, timeout=10).read())
            assert int(ack.get("subscribers", 0)) == 1, ack
        got = [int(json.loads(m).get("seq", "0")) async for m in ws]
        assert got == [0, 1, 2], got
    print(f"websockets {websockets.__version__}: feed {count} JSON frames in order, close 1000; "
          "chat echoes (text JSON and binary protobuf); room: 3 published, 3 received")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
