"""Run a reading step in a child process with a memory limit: the last line of defence.

Used only where vetting could not measure what python-calamine will allocate. calamine
aborts the whole process when an allocation fails, so the child's death (a signal, running
out of memory or time) becomes a refusal of the file, and the caller lives on. The file
goes to the child through a pipe: nothing is written to disk.
"""

import dataclasses
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from batches.reading.errors import MALFORMED_FILE, FileRefused
from batches.reading.headers import ColumnMapping
from batches.reading.records import FileSummary

CHILD_SECONDS = 120
_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the batches package


def run_in_child(function, fileobj, *, name: str, memory_bytes: int, **options) -> FileSummary:
    """Call `function(file, name=name, **options)` in a child allowed `memory_bytes` more
    than it starts with; return its FileSummary, raise its FileRefused, or refuse the file
    when the child dies."""
    fileobj.seek(0)
    data = fileobj.read()
    request = {"function": f"{function.__module__}:{function.__qualname__}", "name": name}
    request["options"] = options
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(_ROOT), environment.get("PYTHONPATH", "")])
    )
    try:
        child = subprocess.run(
            [sys.executable, "-m", "batches.reading.sandbox", str(memory_bytes)],
            input=json.dumps(request).encode() + b"\n" + data,
            capture_output=True,
            timeout=CHILD_SECONDS,
            env=environment,
            cwd=_ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _stopped(name, f"it took over {CHILD_SECONDS} seconds", memory_bytes) from None
    finally:
        fileobj.seek(0)
    if child.returncode != 0:
        if child.returncode < 0:
            how = f"the reader was stopped by signal {-child.returncode}"
        else:
            how = f"the reader failed (exit status {child.returncode})"
        raise _stopped(name, how, memory_bytes)
    answer = json.loads(child.stdout)
    if "refused" in answer:
        code, detail, row, column = answer["refused"]
        raise FileRefused(code, detail, file_name=name, row=row, column=column)
    return _summary(answer["summary"])


def _stopped(name: str, how: str, memory_bytes: int) -> FileRefused:
    return FileRefused(
        MALFORMED_FILE,
        f"the workbook cannot be read within {memory_bytes / 1048576:,.0f} MB of memory ({how}); "
        "it may be damaged: open it in Excel and save it again as .xlsx, or as .csv",
        file_name=name,
    )


def _summary(data: dict) -> FileSummary:
    mappings = tuple(
        ColumnMapping(
            **{
                **mapping,
                "headers": tuple(mapping["headers"]),
                "extra": {int(k): v for k, v in mapping["extra"].items()},
                "notes": tuple(mapping["notes"]),
                "ambiguous": tuple(tuple(item) for item in mapping["ambiguous"]),
            }
        )
        for mapping in data["mappings"]
    )
    return FileSummary(
        **{**data, "mappings": mappings, "skipped_sheets": tuple(data["skipped_sheets"])}
    )


def _address_space() -> int | None:
    """This process' virtual memory size in bytes (Linux), or None where unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _child(memory_bytes: int) -> None:
    import importlib
    import io

    request = json.loads(sys.stdin.buffer.readline())
    data = sys.stdin.buffer.read()
    module, _, qualname = request["function"].partition(":")
    function = getattr(importlib.import_module(module), qualname)
    current = _address_space()
    if current is not None:  # RLIMIT_AS counts what is mapped already: allow that and more
        limit = current + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        summary = function(io.BytesIO(data), name=request["name"], **request["options"])
    except FileRefused as refused:
        answer = {"refused": [refused.code, refused.detail, refused.row, refused.column]}
    except MemoryError:
        sys.exit(3)
    else:
        answer = {"summary": dataclasses.asdict(summary)}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    _child(int(sys.argv[1]))
