"""Logging for the daemon: text or JSON lines on stderr, written off the event loop.

A queue handler takes each record at once and a listener thread formats and
writes it, so a slow terminal or journal never stalls the controller loop.

Under systemd, stderr is a stream to the journal, which reads a ``<N>``
prefix on each line as its priority (sd-daemon(3)); without one every line
is "info", and an error would never show in ``journalctl -p err``.  So when
``$JOURNAL_STREAM`` names the very stream stderr is (systemd sets it to its
device and inode; a shell started from a service inherits the variable
with another stderr), every line carries its record's priority: ``<3>``
for an error, ``<4>`` a warning, ``<6>`` info, ``<7>`` debug.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import queue
import sys
import time
from collections.abc import Mapping
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


# sd-daemon(3) priorities (syslog's), from the most severe level down.
JOURNAL_ERROR = 3
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, JOURNAL_ERROR), (logging.WARNING, 4),
               (logging.INFO, 6))
_DEBUG_PRIORITY = 7


def journal_priority(level: int) -> int:
    """The journal priority of a logging level."""
    return next((priority for floor, priority in _PRIORITIES if level >= floor), _DEBUG_PRIORITY)


def journal_lines(text: str, priority: int) -> str:
    """``text`` with every line prefixed ``<priority>``: the journal reads each line as one entry,
    so a traceback's lines keep the error's priority too."""
    return "\n".join(f"<{priority}>{line}" for line in text.split("\n"))


def stderr_is_journal(environ: Mapping[str, str] | None = None, fd: int = 2) -> bool:
    """Is ``fd`` the journal stream ``$JOURNAL_STREAM`` (``DEVICE:INODE``) names?"""
    device, _, inode = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "").partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        stat = os.fstat(fd)
    except OSError:
        return False
    return (stat.st_dev, stat.st_ino) == (int(device), int(inode))


class JournalFormatter(logging.Formatter):
    """Another formatter's lines, each prefixed with the record's journal priority."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return journal_lines(self.inner.format(record), journal_priority(record.levelno))


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> logging.handlers.QueueListener:
    """Route every log record through a queue to stderr; returns the listener to stop at exit."""
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    output = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    output.setFormatter(JournalFormatter(formatter) if stderr_is_journal() else formatter)
    listener = logging.handlers.QueueListener(records, output, respect_handler_level=False)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.handlers.QueueHandler(records))
    root.setLevel(level)
    # The API server's per-request lines would drown the controller's decisions.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # So would httpx's line per webhook POST (the dispatcher logs what fails).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    listener.start()
    return listener
