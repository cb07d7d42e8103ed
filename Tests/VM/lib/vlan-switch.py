#!/usr/bin/env python3
"""One 802.1Q trunk port to one access port, in user space, for a test's network namespace.

QEMU sends the guest's Ethernet frames as UDP datagrams (`-netdev socket,udp=…`) to
--port on 127.0.0.1 and receives ours on --qemu-port. Frames tagged with --vlan lose the tag
and go out of the tap device --tap (which carries the target's address); frames from the
tap get the tag and go to the guest. Untagged frames and other VLANs are dropped and
counted: the target is reachable over that VLAN only. The host's kernel need not have
8021q or a bridge for this. Quits after --seconds.
"""
import argparse
import fcntl
import os
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
TPID_8021Q = 0x8100


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--qemu-port", type=int, required=True)
    parser.add_argument("--tap", required=True)
    parser.add_argument("--vlan", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    if not 1 <= args.vlan <= 4094:
        sys.exit(f"vlan-switch: --vlan {args.vlan} is outside 1-4094")

    tap = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", args.tap.encode(), IFF_TAP | IFF_NO_PI))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", args.port))
    qemu = ("127.0.0.1", args.qemu_port)
    print(f"vlan-switch: VLAN {args.vlan} on udp {args.port}<->{args.qemu_port} to {args.tap}", flush=True)

    tag = struct.pack("!HH", TPID_8021Q, args.vlan)
    counts = {"to-tap": 0, "to-guest": 0, "dropped": 0}
    deadline = time.monotonic() + args.seconds
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([udp, tap], [], [], min(left, 1.0))
        if udp in ready:
            frame = udp.recv(65536)
            if len(frame) >= 18 and frame[12:14] == tag[:2] and struct.unpack("!H", frame[14:16])[0] & 0x0FFF == args.vlan:
                os.write(tap, frame[:12] + frame[16:])
                counts["to-tap"] += 1
            else:
                counts["dropped"] += 1
                if counts["dropped"] <= 5:
                    kind = frame[12:14].hex() if len(frame) >= 14 else "short"
                    print(f"vlan-switch: dropped a frame from the guest (ethertype {kind})", flush=True)
        if tap in ready:
            frame = os.read(tap, 65536)
            if len(frame) >= 14:
                udp.sendto(frame[:12] + tag + frame[12:], qemu)
                counts["to-guest"] += 1
    print(f"vlan-switch: done: {counts}", flush=True)


if __name__ == "__main__":
    main()
