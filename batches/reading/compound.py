"""Read a stream out of an OLE2 compound file (the container of a legacy .xls) within bounds.

A compound file is a little file system: a table (the FAT) says which sector follows which,
and a directory names the streams. A damaged or crafted one has chains that loop, run past
the end of the file or point at sectors that do not exist; readers that follow them
without checking spin or allocate without end. Every chain here is followed at most once
per sector and only to sectors that exist, so the work is bounded by the file's size.
"""

import struct
from array import array

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER = 512
_DIFAT_IN_HEADER = 109
_END_OF_CHAIN = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_ENTRY = 128
_STREAM, _ROOT = 2, 5


class CompoundError(Exception):
    """The compound file is damaged; the message says how."""


class NotCompound(CompoundError):
    """Not even the header is whole: nothing says this is an Office file at all."""


class CompoundFile:
    """The directory and the sector tables of a compound file held in memory."""

    def __init__(self, data: bytes):
        if len(data) < _HEADER or not data.startswith(MAGIC):
            raise NotCompound("the file is shorter than an Office file's header")
        shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
        if shift not in (9, 12) or mini_shift != 6:
            raise NotCompound(f"a sector size of 2^{shift} bytes, which no writer uses")
        self.data, self.size = data, 1 << shift
        # Sector n starts at (n + 1) x its size: the header fills sector "-1", padded.
        self.sectors = max(0, (len(data) + self.size - 1) // self.size - 1)
        fat_count, directory, _, self.cutoff, mini_fat, mini_count, difat, difat_count = (
            struct.unpack_from("<8I", data, 0x2C)
        )
        if fat_count > self.sectors:
            raise CompoundError(f"it declares {fat_count:,} table sectors in a smaller file")
        self.fat = self._fat(fat_count, difat, difat_count)
        self.entries = self._directory(directory)
        root = self.entries[0] if self.entries else None
        if root is None or root[1] != _ROOT:
            raise CompoundError("its directory has no root entry")
        self.mini_stream = self._read_chain(root[2], root[3], self.fat, self._sector, "root")
        mini_table = self._read_chain(mini_fat, mini_count * self.size, self.fat, self._sector)
        if len(self.mini_stream) % 64:  # the mini stream is whole mini sectors
            self.mini_stream += bytes(64 - len(self.mini_stream) % 64)
        self.mini_fat = array("I", mini_table[: len(mini_table) // 4 * 4])

    def stream(self, *names: str) -> bytes | None:
        """The first stream found under one of `names` (case-insensitive), or None."""
        wanted = [n.lower() for n in names]
        for wanted_name in wanted:
            for name, kind, start, size in self.entries:
                if kind == _STREAM and name.lower() == wanted_name:
                    return self.read(name, start, size)
        return None

    def names(self) -> list[str]:
        return [name for name, kind, _, _ in self.entries if kind == _STREAM]

    def read(self, name: str, start: int, size: int) -> bytes:
        if size < self.cutoff:
            return self._read_chain(start, size, self.mini_fat, self._mini_sector, name)
        return self._read_chain(start, size, self.fat, self._sector, name)

    def check_all(self) -> None:
        """Follow every stream's chain once: a reader may open any of them."""
        for name, kind, start, size in self.entries:
            if kind == _STREAM:
                self.read(name, start, size)

    def _sector(self, number: int) -> bytes:
        if number >= self.sectors:
            raise CompoundError(f"sector {number:,} is past the end of the file (truncated?)")
        offset = (number + 1) * self.size
        block = self.data[offset : offset + self.size]
        return block + bytes(self.size - len(block))  # a last sector cut short reads as zeros

    def _mini_sector(self, number: int) -> bytes:
        offset = number * 64
        if offset >= len(self.mini_stream):
            raise CompoundError(f"mini sector {number:,} is past the end of the mini stream")
        return self.mini_stream[offset : offset + 64]

    def _chain(self, start: int, table, limit: int, what: str):
        """The sector numbers of a chain, refusing loops and sectors out of range."""
        seen: set[int] = set()
        number = start
        while number != _END_OF_CHAIN and len(seen) < limit:
            if number >= len(table) or number in seen:
                problem = "loops back" if number in seen else "leaves the file"
                raise CompoundError(f"the sector chain of {what} {problem} at {number:,}")
            seen.add(number)
            yield number
            number = table[number]

    def _read_chain(self, start, size: int, table, sector, what: str = "a table") -> bytes:
        if size == 0 or start in (_END_OF_CHAIN, _FREE):
            return b""
        step = 64 if sector == self._mini_sector else self.size
        needed = (size + step - 1) // step
        if needed > len(table):
            raise CompoundError(f"{what} declares {size:,} bytes, more than the file holds")
        parts = [sector(n) for n in self._chain(start, table, needed, what)]
        data = b"".join(parts)
        if len(parts) < needed or len(data) < size:
            raise CompoundError(f"{what} is cut short: the file may be truncated")
        return data[:size]

    def _fat(self, count: int, difat: int, difat_count: int) -> array:
        numbers = list(struct.unpack_from(f"<{_DIFAT_IN_HEADER}I", self.data, 0x4C))
        per_sector = self.size // 4 - 1
        seen: set[int] = set()
        while difat not in (_END_OF_CHAIN, _FREE) and len(seen) < difat_count:
            if difat in seen:
                raise CompoundError(f"the chain of table sectors loops back at {difat:,}")
            seen.add(difat)
            values = struct.unpack(f"<{per_sector + 1}I", self._sector(difat))
            numbers.extend(values[:per_sector])
            difat = values[per_sector]
        used = [n for n in numbers if n not in (_FREE, _END_OF_CHAIN)][:count]
        if len(used) < count:
            raise CompoundError("its sector table is cut short: the file may be truncated")
        fat = array("I", b"".join(self._sector(n) for n in used))
        return fat

    def _directory(self, start: int) -> list[tuple[str, int, int, int]]:
        entries = []
        for number in self._chain(start, self.fat, self.sectors, "the directory"):
            block = self._sector(number)
            for at in range(0, len(block) - _ENTRY + 1, _ENTRY):
                raw, length, kind = struct.unpack_from("<64sHB", block, at)
                start_sector, size = struct.unpack_from("<IQ", block, at + 116)
                if self.size == 512:
                    size &= 0xFFFFFFFF  # version 3 files leave the high half undefined
                name = raw[: max(0, min(length, 64) - 2)].decode("utf-16-le", "replace")
                entries.append((name, kind, start_sector, size))
        return entries
