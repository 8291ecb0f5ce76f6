#!/usr/bin/env python3
"""plaintext_scan.py: find copies of a plaintext file's bytes where they must not be.

  plaintext_scan.py files PLAIN [--from N] [--exclude GLOB]... [--since STAMP] ROOT...
      every regular file under each ROOT (with --since, only files whose ctime is
      at or after STAMP's mtime: what a run could have written; ctime cannot be
      set back by the writer) is checked for any 64-byte window of PLAIN;
      directories whose real path matches an --exclude glob are skipped; with
      --from, only PLAIN's bytes from offset N on count (skip a header that
      every model of the same shape shares, e.g. a safetensors header).
  plaintext_scan.py maps PLAIN PID...
      each process's /proc/PID/maps and /proc/PID/fd: a mapping or open fd that
      names a regular file path (not memfd, not anonymous) holding any 64-byte
      window of PLAIN is a leak. Prints the memfd mapping count per PID.

Exit 0 when nothing is found, 1 with the places when something is, 2 on usage
errors.

How "any 64-byte window" is checked, exactly and not by sampling: every
32-byte window of PLAIN (at every offset) with at least 10 distinct byte values
is indexed by hash; a target is read at 32-byte strides. A copy of any 64-byte
window of PLAIN, wherever it sits in the target, covers one whole
32-byte-aligned target block, so that block is looked up; each hit is extended
left and right byte by byte against PLAIN and counts when the common run is at
least 64 bytes. Blocks with fewer than 10 distinct bytes (zero padding,
repeated constants: 0.2% of silero_vad.onnx's windows) are not evidence of a
leak and are not indexed, so a copy is missed only if the aligned block inside
it is such a block.
"""
import fnmatch
import os
import stat
import sys

WIN = 64
BLOCK = 32
MIN_DISTINCT = 10  # per 32-byte block
MAX_OCCURRENCES = 64  # per block (silero_vad.onnx holds most of its weights twice)


class Plain:
    def __init__(self, data, start=0):
        if len(data) < WIN:
            raise SystemExit(f"plaintext_scan: the plaintext has {len(data)} bytes, fewer than a {WIN}-byte window")
        self.data = data
        self.index = {}
        for i in range(start, len(data) - BLOCK + 1):
            block = data[i:i + BLOCK]
            if len(set(block)) < MIN_DISTINCT:
                continue
            h = hash(block)
            seen = self.index.get(h)
            if seen is None:
                self.index[h] = i
            elif isinstance(seen, list):
                seen.append(i)
            else:
                self.index[h] = [seen, i]

    def find(self, target):
        """Offset in target of a copy of >= 64 plaintext bytes, or None."""
        p = self.data
        for t in range(0, len(target) - BLOCK + 1, BLOCK):
            offs = self.index.get(hash(target[t:t + BLOCK]))
            if offs is None:
                continue
            if not isinstance(offs, list):
                offs = [offs]
            block = target[t:t + BLOCK]
            for m in offs[:MAX_OCCURRENCES]:
                if p[m:m + BLOCK] != block:
                    continue
                left = 0
                while left < WIN and m - left > 0 and t - left > 0 and p[m - left - 1] == target[t - left - 1]:
                    left += 1
                right = 0
                while left + BLOCK + right < 2 * WIN and m + BLOCK + right < len(p) and t + BLOCK + right < len(target) \
                        and p[m + BLOCK + right] == target[t + BLOCK + right]:
                    right += 1
                length = left + BLOCK + right
                if length >= WIN:
                    return t - left
        return None


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def scan_files(plain, roots, excludes, since):
    hits, scanned = [], 0
    for root in roots:
        for d, dirs, files in os.walk(root):
            real_d = os.path.realpath(d)
            if any(fnmatch.fnmatchcase(real_d, e) for e in excludes):
                dirs[:] = []
                continue
            for name in files:
                path = os.path.join(d, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode) or (since is not None and st.st_ctime < since):
                    continue
                data = read(path)
                if data is None:
                    continue
                scanned += 1
                off = plain.find(data)
                if off is not None:
                    hits.append(f"{path} (offset {off})")
    return hits, scanned


def scan_maps(plain, pids):
    hits, report = [], []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/maps") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise SystemExit(f"plaintext_scan: cannot read /proc/{pid}/maps: {e}")
        paths, memfd = set(), 0
        for line in lines:
            parts = line.split(None, 5)
            name = parts[5] if len(parts) == 6 else ""
            if name.startswith("/memfd:"):
                memfd += 1
            elif name.startswith("/"):
                paths.add(name[:-len(" (deleted)")] if name.endswith(" (deleted)") else name)
        fd_dir = f"/proc/{pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("/") and not target.startswith("/memfd:"):
                paths.add(target[:-len(" (deleted)")] if target.endswith(" (deleted)") else target)
        for path in sorted(paths):
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    continue
            except OSError:
                continue
            data = read(path)
            if data is not None and plain.find(data) is not None:
                hits.append(f"pid {pid} maps or holds {path}, which contains plaintext")
        report.append(f"pid {pid}: {memfd} memfd mappings, {len(paths)} file paths mapped or open, none with plaintext"
                      if not any(h.startswith(f"pid {pid} ") for h in hits) else f"pid {pid}: plaintext file mapped")
    return hits, report


def main(argv):
    if len(argv) < 3 or argv[0] not in ("files", "maps"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, plain_path, rest = argv[0], argv[1], argv[2:]
    data = read(plain_path)
    if data is None:
        print(f"plaintext_scan: cannot read {plain_path}", file=sys.stderr)
        return 2
    start = 0
    if len(rest) >= 2 and rest[0] == "--from":
        start, rest = int(rest[1]), rest[2:]
    plain = Plain(data, start)
    if mode == "maps":
        hits, report = scan_maps(plain, rest)
        print("\n".join(report))
    else:
        excludes, since, roots = [], None, []
        i = 0
        while i < len(rest):
            if rest[i] == "--exclude" and i + 1 < len(rest):
                excludes.append(rest[i + 1]); i += 2
            elif rest[i] == "--since" and i + 1 < len(rest):
                since = os.stat(rest[i + 1]).st_mtime; i += 2
            else:
                roots.append(rest[i]); i += 1
        hits, scanned = scan_files(plain, roots, excludes, since)
        print(f"scanned {scanned} files under {' '.join(roots)}")
    if hits:
        print("plaintext found:", *hits[:10], sep="\n  ")
        return 1
    print("no 64-byte window of the plaintext found")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
