"""A network path with a fixed delay, for a test's own network namespace (this kernel has no
netem): a TUN device whose packets this module holds for `delay` seconds each way and hands
back to the kernel, addresses rewritten so that a peer seems to sit at the far end.

    PEER (10.9.0.2) is where a client connects; a server listening on HOST (10.9.0.1, or any
    address) takes the connection, which it sees come from FAR (10.9.0.3).

Only inside a namespace made for the test (unshare -n), as root: it adds a device and routes."""

import fcntl
import heapq
import os
import select
import struct
import subprocess
import threading
import time

HOST, PEER, FAR = "10.9.0.1", "10.9.0.2", "10.9.0.3"
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x0001, 0x1000


def _ip(s):
    return bytes(int(x) for x in s.split("."))


def _sum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def _readdress(pkt, src, dst):
    """pkt (IPv4) with new addresses and its checksums made again (TCP and UDP carry the
    addresses in theirs)."""
    p = bytearray(pkt)
    ihl = (p[0] & 15) * 4
    p[12:16], p[16:20] = src, dst
    p[10:12] = b"\0\0"
    p[10:12] = struct.pack("!H", _sum16(bytes(p[:ihl])))
    proto, seg = p[9], ihl
    at = {6: 16, 17: 6}.get(proto)
    if at is not None:
        p[seg + at:seg + at + 2] = b"\0\0"
        body = bytes(p[seg:])
        c = _sum16(src + dst + struct.pack("!BBH", 0, proto, len(body)) + body)
        p[seg + at:seg + at + 2] = struct.pack("!H", c or (0xffff if proto == 17 else 0))
    return bytes(p)


class DelayLine:
    def __init__(self, delay, name="dl0"):
        self.delay, self.stop = delay, False
        self.fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
        for cmd in (f"ip link set lo up", f"ip addr add {HOST}/24 dev {name}",
                    f"ip link set {name} up"):
            subprocess.run(cmd.split(), check=True)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        host, peer, far = _ip(HOST), _ip(PEER), _ip(FAR)
        held, n = [], 0
        while not self.stop:
            wait = max(0.0, held[0][0] - time.monotonic()) if held else 0.2
            if select.select([self.fd], [], [], wait)[0]:
                pkt = os.read(self.fd, 65536)
                if len(pkt) >= 20 and pkt[0] >> 4 == 4 and pkt[12:16] == host:
                    # the client's packet to PEER arrives from FAR; the server's to FAR from PEER
                    to = {peer: (far, host), far: (peer, host)}.get(pkt[16:20])
                    if to:
                        n += 1
                        heapq.heappush(held, (time.monotonic() + self.delay, n,
                                              _readdress(pkt, *to)))
            while held and held[0][0] <= time.monotonic():
                os.write(self.fd, heapq.heappop(held)[2])

    def close(self):
        self.stop = True
        self.t.join(timeout=2)
        os.close(self.fd)
