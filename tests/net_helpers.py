"""Bad nodes and a bad network on real loopback sockets, for the link's fault tests.

* :class:`SilentNode` accepts TCP and never says a word (a partitioned node,
  or one whose process hangs with its socket still listening);
* :class:`ClosingNode` accepts and closes at once;
* :class:`ResettingNode` answers the MQTT handshake, then resets the
  connection (RST) with the client's bytes unread — what a broker that dies
  mid-conversation looks like to its clients;
* :func:`paused` SIGSTOPs a real process (a Mosquitto, a NATS node) and
  SIGCONTs it afterwards;
* :class:`FaultyProxy` sits between a client and a real broker and, on the
  test's word, black-holes what the client sends, holds what a new
  connection gets back (the broker's CONNACK among it), cuts every
  connection and refuses new ones.
"""

import contextlib
import os
import signal
import socket
import struct
import threading


class _Acceptor:
    """A listening socket on 127.0.0.1 and a free port, with a thread that accepts."""

    def __init__(self):
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.host, self.port = self._server.getsockname()
        self.accepted = 0
        self._held = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self):
        return (self.host, self.port)

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.accepted += 1
            self.handle(conn)

    def handle(self, conn):
        raise NotImplementedError

    def close(self):
        self._closed = True
        self._server.close()
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class SilentNode(_Acceptor):
    """Accepts every connection and never answers (nor closes)."""

    def handle(self, conn):
        self._held.append(conn)


class ClosingNode(_Acceptor):
    """Accepts every connection and closes it at once."""

    def handle(self, conn):
        conn.close()


CONNACK_OK = bytes([0x20, 0x02, 0x00, 0x00])


def _packets(data):
    """``(whole MQTT packets, the rest)`` of a byte stream."""
    packets = []
    while len(data) >= 2:
        length, shift, at = 0, 0, 1
        while True:
            if at >= len(data):
                return packets, data
            byte = data[at]
            length |= (byte & 0x7F) << shift
            shift += 7
            at += 1
            if not byte & 0x80:
                break
        if len(data) < at + length:
            break
        packets.append(data[:at + length])
        data = data[at + length:]
    return packets, data


def _retained_publish(packet):
    return packet[0] >> 4 == 3 and packet[0] & 0x01


def _read_packet(conn):
    """One MQTT packet's bytes from ``conn`` (blocking), or b"" at end of stream."""
    head = conn.recv(1)
    if not head:
        return b""
    length, shift = 0, 0
    while True:
        byte = conn.recv(1)
        if not byte:
            return b""
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            return b""
        body += chunk
    return head + body


class ResettingNode(_Acceptor):
    """Says CONNACK, then resets the connection once the client has sent more.

    The reset comes with the client's next packet unread in the socket, so
    the kernel answers with RST: the client's read fails with "connection
    reset by peer" (errno 104), as when a broker process dies mid-stream.
    """

    def __init__(self, after=0.3):
        self.after = after
        super().__init__()

    def handle(self, conn):
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            if _read_packet(conn):
                conn.sendall(CONNACK_OK)
            threading.Event().wait(self.after)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        finally:
            conn.close()


@contextlib.contextmanager
def paused(pid):
    """SIGSTOP process ``pid`` for the block; SIGCONT it after, whatever happened."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


class FaultyProxy:
    """A TCP proxy to a real broker whose faults the test switches on and off.

    * :meth:`black_hole`: the client's bytes are read and dropped (the
      broker never sees them, no PUBACK comes back);
    * :meth:`hold_answers`: a connection made from now on gets nothing back
      from the broker (its CONNACK either) until :meth:`release_answers`;
    * :meth:`cut`: every connection is closed; new ones are refused until
      :meth:`resume`;
    * :meth:`forget_retained`: the broker's retained messages do not reach
      the client (a cluster node that has just restarted and not yet loaded
      them); live ones do.

    ``connections`` counts the connections it accepted and passed on;
    ``forwarded(n)`` how many bytes connection ``n`` sent to the broker.
    """

    def __init__(self, target_port, host="127.0.0.1"):
        self.host, self.target_port = host, target_port
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((host, 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._lock = threading.Condition()
        self._pairs = []
        self._black_hole = False
        self._holding = False
        self._accepting = True
        self._closed = False
        self._forwarded = []
        self._released = []
        self._forgetting = False
        self.forgotten = 0          # retained messages kept from the client
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def connections(self):
        with self._lock:
            return len(self._forwarded)

    def forwarded(self, index):
        with self._lock:
            return self._forwarded[index]

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                accepting, holding = self._accepting, self._holding
            if not accepting:
                client.close()
                continue
            try:
                upstream = socket.create_connection((self.host, self.target_port), 5)
            except OSError:
                client.close()
                continue
            with self._lock:
                index = len(self._forwarded)
                self._forwarded.append(0)
                self._released.append(not holding)
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream, index, True),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, index, False),
                             daemon=True).start()

    def _pipe(self, source, sink, index, upstream):
        pending = b""               # the broker's bytes not yet a whole packet
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with self._lock:
                if upstream:
                    if self._black_hole:
                        continue
                    self._forwarded[index] += len(data)
                    self._lock.notify_all()
                else:
                    while not self._released[index] and not self._closed:
                        self._lock.wait(0.05)
            if not upstream:
                packets, pending = _packets(pending + data)
                with self._lock:
                    if self._forgetting:
                        kept = [p for p in packets if not _retained_publish(p)]
                        self.forgotten += len(packets) - len(kept)
                        packets = kept
                data = b"".join(packets)
                if not data:
                    continue
            try:
                sink.sendall(data)
            except OSError:
                break
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.close()

    def wait_forwarded(self, index, count, timeout=10.0):
        """Wait until connection ``index`` passed ``count`` bytes to the broker."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._forwarded) > index
                                       and self._forwarded[index] >= count, timeout)

    def black_hole(self, on=True):
        with self._lock:
            self._black_hole = on

    def hold_answers(self):
        with self._lock:
            self._holding = True

    def release_answers(self):
        with self._lock:
            self._holding = False
            self._released = [True] * len(self._released)
            self._lock.notify_all()

    def forget_retained(self, on=True):
        with self._lock:
            self._forgetting = on

    def cut(self):
        """Close every connection; refuse new ones until :meth:`resume`."""
        with self._lock:
            self._accepting = False
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

    def resume(self):
        """Accept (and pass on) connections again."""
        with self._lock:
            self._accepting = True
            self._black_hole = False

    def close(self):
        self._closed = True
        self.release_answers()
        self.cut()
        self._server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def server_certificate(ca_folder, san):
    """A server certificate for ``san`` (``DNS:name`` or ``IP:address``), signed by the
    throwaway CA that ``tests.ops_helpers.make_ca`` left in ``ca_folder``; returns
    ``(cert, key)`` paths."""
    import subprocess  # pylint: disable=import-outside-toplevel
    folder = str(ca_folder)
    name = san.split(":", 1)[1].replace(".", "-")
    key = os.path.join(folder, "%s.key" % name)
    csr, cert = os.path.join(folder, "%s.csr" % name), os.path.join(folder, "%s.crt" % name)
    ext = os.path.join(folder, "%s.ext" % name)
    with open(ext, "w", encoding="utf-8") as handle:
        handle.write("subjectAltName=%s\n" % san)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    subprocess.run(["openssl", "req"] + ec + ["-keyout", key, "-out", csr,
                                             "-subj", "/CN=%s" % name],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA",
                    os.path.join(folder, "ca.crt"), "-CAkey", os.path.join(folder, "ca.key"),
                    "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
                   check=True, capture_output=True)
    return cert, key
