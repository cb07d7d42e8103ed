#!/usr/bin/env python3
"""One path of scripts/bench-multipath.sh: a TCP relay in front of tgtd that can go silent.

It listens on 127.0.0.1:LISTEN_PORT (where QEMU's user network takes the guest's
10.0.2.2:LISTEN_PORT) and relays every connection to tgtd on 127.0.0.1:UPSTREAM_PORT. A
discovery session is relayed by Tests/VM/lib/portal-proxy.py's code, which rewrites the
TargetAddress tgtd advertises (its own 127.0.0.1) to ADVERTISED: dracut's iscsi module logs
in only to an advertised portal. Other sessions are relayed byte for byte.

SIGUSR1 starts an outage: from then on nothing that any open connection sends is passed on,
in either direction, and new connections are accepted (the kernel completes the handshake
anyway) but get no answer: the guest's initiator sees no reset, only silence, and must
find the dead path itself (NOP-Out). SIGUSR2 ends it: every connection that lived through
the outage is reset and dropped with whatever it had queued (a relay that simply stopped,
SIGSTOP, would deliver the queued commands and logins to tgtd afterwards: writes the guest
has long redone on the other path, and logins that take the path's new session away);
connections made afterwards are relayed again.

usage: bench-multipath-relay.py LISTEN_PORT UPSTREAM_PORT ADVERTISED LIFETIME_SECONDS
  e.g. bench-multipath-relay.py 3261 3262 10.0.2.2:3261 900
Exits after LIFETIME_SECONDS whatever happens (the harness also kills it with its
network namespace).
"""
import importlib.util
import os
import signal
import socket
import struct
import sys
import threading

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "VM", "lib")
sys.path.insert(0, LIB)
from iscsi_wire import read_pdu, serve_connections, split_pdu  # noqa: E402  (the path above first)

_spec = importlib.util.spec_from_file_location("portal_proxy", os.path.join(LIB, "portal-proxy.py"))
portal_proxy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(portal_proxy)

OPCODE_LOGIN_REQUEST = 0x03


def log(message):
    print(f"bench-multipath-relay: {message}", file=sys.stderr, flush=True)


class Relay:
    def __init__(self, upstream_port, advertised):
        self.upstream_port = upstream_port
        self.advertised = advertised
        self.lock = threading.Lock()
        self.flowing = threading.Event()
        self.flowing.set()
        # Connections open now: [guest, upstream, dead]; dead once an outage met them.
        self.connections = []

    def outage_begins(self, *_):
        with self.lock:
            self.flowing.clear()
            for connection in self.connections:
                connection[2] = True
        log(f"outage: {len(self.connections)} connection(s) go silent")

    def outage_ends(self, *_):
        with self.lock:
            dead = [c for c in self.connections if c[2]]
            self.connections = [c for c in self.connections if not c[2]]
            for guest, upstream, _ in dead:
                for sock in (guest, upstream):
                    if sock is None:
                        continue
                    try:
                        # A reset, not a FIN: and shutdown(SHUT_RD) wakes a thread in recv().
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        sock.shutdown(socket.SHUT_RD)
                    except OSError:
                        pass
                    sock.close()
            self.flowing.set()
        log(f"outage over: {len(dead)} connection(s) reset")

    def pump(self, connection, source, destination):
        """Byte for byte while the connection has not met an outage; then stops silently."""
        try:
            while True:
                self.flowing.wait()
                if connection[2]:
                    return
                chunk = source.recv(65536)
                if connection[2]:
                    return
                if not chunk:
                    break
                destination.sendall(chunk)
        except OSError:
            if connection[2]:
                return
        for sock, how in ((destination, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass

    def serve(self, guest):
        connection = [guest, None, False]
        with self.lock:
            self.connections.append(connection)
            connection[2] = not self.flowing.is_set()
        if connection[2]:
            return  # accepted during an outage: no answer, reset when it ends
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            upstream.settimeout(None)
        except OSError as error:
            log(f"tgtd on port {self.upstream_port}: {error}")
            self.forget(connection)
            guest.close()
            return
        connection[1] = upstream
        try:
            first = read_pdu(guest)
        except OSError:
            first = None
        if first is None or connection[2]:
            self.finish(connection)
            return
        header, _, data = split_pdu(first)
        kind = portal_proxy.SessionKind()
        kind.is_discovery = (header[0] & 0x3F) == OPCODE_LOGIN_REQUEST and b"SessionType=Discovery" in data
        kind.set()
        try:
            upstream.sendall(first)
        except OSError:
            self.finish(connection)
            return
        if kind.is_discovery:
            # Boot time only: portal-proxy's own rewriting, no outage in between.
            threads = [
                threading.Thread(target=portal_proxy.target_to_guest, args=(upstream, guest, self.advertised, kind), daemon=True),
                threading.Thread(target=portal_proxy.pump, args=(guest, upstream), daemon=True),
            ]
        else:
            threads = [
                threading.Thread(target=self.pump, args=(connection, guest, upstream), daemon=True),
                threading.Thread(target=self.pump, args=(connection, upstream, guest), daemon=True),
            ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.finish(connection)

    def forget(self, connection):
        with self.lock:
            if connection in self.connections:
                self.connections.remove(connection)

    def finish(self, connection):
        """A connection over by itself (not one an outage holds: outage_ends resets those)."""
        with self.lock:
            if connection[2] or connection not in self.connections:
                return
            self.connections.remove(connection)
        for sock in connection[:2]:
            if sock is not None:
                sock.close()


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    advertised, lifetime = sys.argv[3].encode(), float(sys.argv[4])
    relay = Relay(upstream_port, advertised)
    signal.signal(signal.SIGUSR1, relay.outage_begins)
    signal.signal(signal.SIGUSR2, relay.outage_ends)
    log(f"127.0.0.1:{listen_port} -> 127.0.0.1:{upstream_port}, advertising {advertised.decode()}")
    serve_connections(listen_port, lifetime, relay.serve, log, backlog=16)


if __name__ == "__main__":
    main()
