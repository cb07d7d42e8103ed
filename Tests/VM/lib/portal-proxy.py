#!/usr/bin/env python3
"""A TCP proxy in front of tgtd that rewrites the portal tgtd advertises in SendTargets.

tgtd in the test's network namespace listens on 127.0.0.1 and advertises that address
(TargetAddress=127.0.0.1:PORT,1), which for the guest behind QEMU's user network is its own
loopback. An initiator that logs in to the advertised portal (dracut's iscsi module:
`iscsiadm -m discovery` then `-m node -p GIVEN --login`, which finds no record for the
given portal) cannot boot. The proxy answers where the guest's 10.0.2.2:3260 arrives,
forwards to tgtd on another port, and in discovery sessions replaces every TargetAddress
with ADVERTISED (the portal group tag is kept). Normal sessions are passed through byte for
byte; so is a discovery session that negotiated digests (then nothing is rewritten, and a
line on standard error says so).

usage: portal-proxy.py LISTEN_PORT UPSTREAM_PORT ADVERTISED LIFETIME_SECONDS
  e.g. portal-proxy.py 3260 3261 10.0.2.2:3260 600   (127.0.0.1 on both sides)
The proxy exits after LIFETIME_SECONDS whatever happens (the harness also kills it with
its network namespace).
"""
import re
import socket
import sys
import threading

from iscsi_wire import BHS, read_pdu, serve_connections, split_pdu

OPCODE_LOGIN_REQUEST = 0x03
OPCODE_LOGIN_RESPONSE = 0x23
OPCODE_TEXT_RESPONSE = 0x24


def log(message):
    print(f"portal-proxy: {message}", file=sys.stderr, flush=True)


def encode_pdu(header, ahs, data):
    header = bytearray(header)
    header[5:8] = len(data).to_bytes(3, "big")
    return bytes(header) + ahs + data + b"\0" * (-len(data) % 4)


def digests_negotiated(data):
    return re.search(rb"(?:^|\0)(?:Header|Data)Digest=CRC32C", data) is not None


def pump(source, destination):
    """Byte for byte until EOF, then half-closes the other side."""
    try:
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            destination.sendall(chunk)
    except OSError:
        pass
    for sock, how in ((destination, socket.SHUT_WR), (source, socket.SHUT_RD)):
        try:
            sock.shutdown(how)
        except OSError:
            pass


def target_to_guest(upstream, guest, advertised, discovery):
    """Rewrites TargetAddress in a discovery session's Text Responses; else pump()."""
    if not discovery.wait(30) or not discovery.is_discovery:
        pump(upstream, guest)
        return
    try:
        while True:
            pdu = read_pdu(upstream)
            if pdu is None:
                break
            header, ahs, data = split_pdu(pdu)
            opcode = header[0] & 0x3F
            if opcode == OPCODE_LOGIN_RESPONSE and digests_negotiated(data):
                guest.sendall(encode_pdu(header, ahs, data))
                log("digests negotiated in a discovery session: passed through unchanged")
                pump(upstream, guest)
                return
            if opcode == OPCODE_TEXT_RESPONSE:
                data = re.sub(rb"TargetAddress=[^\0]*?(,[0-9]+)?(?=\0|$)",
                              lambda m: b"TargetAddress=" + advertised + (m.group(1) or b""), data)
            guest.sendall(encode_pdu(header, ahs, data))
    except OSError:
        pass
    pump(upstream, guest)


class SessionKind(threading.Event):
    is_discovery = False


def guest_to_target(guest, upstream, discovery):
    """The first PDU (the Login Request) says whether this is a discovery session."""
    try:
        pdu = read_pdu(guest)
        if pdu is not None:
            header, ahs, data = split_pdu(pdu)
            discovery.is_discovery = (header[0] & 0x3F) == OPCODE_LOGIN_REQUEST and b"SessionType=Discovery" in data
            discovery.set()
            upstream.sendall(encode_pdu(header, ahs, data))
    except OSError:
        pass
    discovery.set()
    pump(guest, upstream)


def serve(guest, upstream_port, advertised):
    try:
        upstream = socket.create_connection(("127.0.0.1", upstream_port), timeout=10)
        upstream.settimeout(None)
    except OSError as error:
        log(f"tgtd on port {upstream_port}: {error}")
        guest.close()
        return
    discovery = SessionKind()
    threads = [
        threading.Thread(target=guest_to_target, args=(guest, upstream, discovery), daemon=True),
        threading.Thread(target=target_to_guest, args=(upstream, guest, advertised, discovery), daemon=True),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    guest.close()
    upstream.close()


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    advertised, lifetime = sys.argv[3].encode(), float(sys.argv[4])
    log(f"127.0.0.1:{listen_port} -> 127.0.0.1:{upstream_port}, advertising {advertised.decode()}")
    serve_connections(listen_port, lifetime, lambda guest: serve(guest, upstream_port, advertised), log)


if __name__ == "__main__":
    main()
