"""A local SMTP sink on loopback that saves every delivered message as a `.eml` file.

For the demo (open what executives would receive), `make airflow` and the tests (a real
SMTP server). Each envelope recipient gets its own file, with a `Delivered-To:` line
prepended as a mail server's local delivery does, so a mailbox can be checked per recipient
(`strategy_briefs.delivery.mailbox.read_mailbox` reads them back). Not part of the product:
the image never holds it; production mail goes to the bank's relay.

    python -m strategy_briefs_demo.sink --port 8025 --out output/sink
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import re
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9@._-]+")


class EmlSaver:
    """aiosmtpd handler: write each (message, recipient) to `<out_dir>/*.eml` atomically.

    Subclass and override `handle_RCPT` to make the sink refuse recipients (tests).
    """

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        queue_ids = []
        for recipient in envelope.rcpt_tos:
            with self._lock:
                number = next(self._counter)
            stamp = time.strftime("%Y%m%dT%H%M%S")
            queue_id = f"{stamp}-{os.getpid()}-{number:05d}"
            name = f"{queue_id}-{_SAFE.sub('_', recipient)}.eml"
            fd, tmp = tempfile.mkstemp(dir=self.out_dir, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(f"Delivered-To: {recipient}\r\n".encode("ascii", "replace"))
                handle.write(content)
            os.replace(tmp, self.out_dir / name)
            queue_ids.append(queue_id)
        return f"250 OK queued as {' '.join(queue_ids)}"


@dataclass(frozen=True)
class RunningSink:
    host: str
    port: int
    out_dir: Path

    def airflow_conn_json(self) -> str:
        """`AIRFLOW_CONN_SMTP_DEFAULT` for this sink: plain SMTP on loopback, no TLS."""
        import json

        return json.dumps(
            {
                "conn_type": "smtp",
                "host": self.host,
                "port": self.port,
                "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 10},
            }
        )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def run_sink(
    host: str = "127.0.0.1",
    port: int = 0,
    out_dir: Path = Path("output/sink"),
    *,
    handler: EmlSaver | None = None,
) -> Iterator[RunningSink]:
    """Run the sink in a background thread; port 0 picks a free port."""
    from aiosmtpd.controller import Controller

    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError(f"the sink listens on loopback only, not {host!r}")
    port = port or free_port(host)
    mail_log = logging.getLogger("mail.log")  # aiosmtpd logs every SMTP line at INFO
    if mail_log.level == logging.NOTSET:
        mail_log.setLevel(logging.WARNING)
    controller = Controller(handler or EmlSaver(out_dir), hostname=host, port=port)
    controller.start()
    try:
        yield RunningSink(host, port, Path(out_dir))
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local SMTP sink that saves .eml files.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--out", type=Path, default=Path("output/sink"))
    args = parser.parse_args(argv)
    with run_sink(args.host, args.port, args.out) as sink:
        print(f"SMTP sink on {sink.host}:{sink.port}, saving to {sink.out_dir.resolve()}")
        print(f"AIRFLOW_CONN_SMTP_DEFAULT='{sink.airflow_conn_json()}'")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
