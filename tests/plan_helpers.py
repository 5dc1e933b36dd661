"""Helpers for bedboard plan's tests: inventories, what a plan folder holds, a bundle's members."""

import gzip
import io
import os
import tarfile
import textwrap

INVENTORY = """\
    hospital: {id: sskm, name: {en: "SSKM Hospital", bn: "এসএসকেএম হাসপাতাল"}}
    broker: {host: %(host)s%(port)s}
    departments:
      - id: medicine
        label: {en: Medicine, bn: মেডিসিন}
        wards:
          - {id: male, capacity: 40}
          - {id: female, capacity: 36}
      - id: icu
        label: {en: ICU, bn: আইসিইউ}
        wards: [{id: unit-1, capacity: 12, occupied: 9}]
    boards:
      - {id: sskm-lobby-1, tiles: [medicine, icu]}
    operators: [bed-manager-1, tech-sen]
    """
NEW_WARD = "      - {id: female, capacity: 36}\n"


def write_inventory(folder, host="broker.sskm.lan", port=None, text=INVENTORY, name="sskm.yaml"):
    """The issue's inventory (one hospital, three wards, a board, two operators) in ``folder``."""
    path = os.path.join(str(folder), name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(text) % {
            "host": host, "port": ", port: %d" % port if port else ""})
    return path


def add_ward(inventory, line="      - {id: female-2, capacity: 20}\n"):
    """Add a ward to the medicine department of an inventory written by write_inventory."""
    with open(inventory, encoding="utf-8") as handle:
        text = handle.read()
    assert NEW_WARD in text
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write(text.replace(NEW_WARD, NEW_WARD + line, 1))


def snapshot(folder):
    """Every file under ``folder``: ``{relative path: (bytes, mode, mtime_ns)}``."""
    found = {}
    for place, _, files in os.walk(str(folder)):
        for name in files:
            path = os.path.join(place, name)
            info = os.stat(path)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, str(folder))] = (
                    handle.read(), info.st_mode & 0o7777, info.st_mtime_ns)
    return found


def members(bundle):
    """``{name: bytes}`` of a bundle, read plainly with tarfile (the test's own eyes)."""
    with tarfile.open(bundle, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def tar_gz(entries):
    """A .tar.gz of ``entries``: ``[(TarInfo, bytes or None)]``, for crafted bundles."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue())


def member(name, data=b"", kind=tarfile.REGTYPE, link=""):
    """One crafted tar entry."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None
