"""docs/install.md's commands, as the booted-system test runs them: the guide is the script.

:func:`section_script` takes the ``sh`` blocks of one section of the guide
and returns them as one bash script to run as root inside the booted
machine.  Every command runs as written, except these, each for a reason a
single test machine forces and nothing else:

* ``make wheelhouse`` and ``scp -r dist/wheelhouse-…`` (the technician's own
  machine): the test builds the wheelhouse with scripts/wheelhouse on the
  host and puts it where the copy would land, before the section runs;
* ``scp tech@broker:PATH …``: the broker is this same machine, so the files
  are copied from the broker's home (``~/PATH``) or from ``PATH``;
* ``apt-get install -y PACKAGES``: the machine has no network; its root was
  built by debootstrap with exactly the packages these lines name
  (:func:`debian_packages`), and the line checks that they are installed;
* ``raspi-config``: Raspberry Pi OS's own tool, not on Debian: skipped;
* ``reboot``: the test powers the machine off and boots it again itself;
* ``journalctl … -f`` would follow for ever: it prints the last lines instead.

Anything else in a block runs as it is; the first command that fails stops
the script (``set -e``) and fails the test with its output.
"""

import os
import re
import shlex

GUIDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "docs", "install.md")


def _guide():
    with open(GUIDE, encoding="utf-8") as handle:
        return handle.read()


def section_blocks(heading, text=None):
    """The ``sh`` code blocks of the section ``## heading``, up to the next heading of any level."""
    text = _guide() if text is None else text
    blocks, inside, found = [], False, False
    fence = None            # in a code block: its lines (False: one that is not kept)
    for line in text.splitlines():
        if fence is not None:
            if line.startswith("```"):
                if fence is not False:
                    blocks.append("\n".join(fence) + "\n")
                fence = None
            elif fence is not False:
                fence.append(line)
        elif line.startswith("```"):
            fence = [] if inside and line.strip() == "```sh" else False
        elif re.match(r"#{1,3} ", line):
            inside = line.strip() == "## " + heading
            found = found or inside
    assert found, "docs/install.md has no section '## %s'" % heading
    assert blocks, "docs/install.md: '## %s' has no sh block" % heading
    return blocks


def commands(block):
    """The block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    found = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            found.append(line.strip())
    return found


def apt_packages(command):
    """The packages an ``apt-get install`` command names, or None for another command."""
    words = shlex.split(command, comments=True)
    if words and words[0] == "sudo":
        words = words[1:]
    if words[:2] != ["apt-get", "install"]:
        return None
    return [w for w in words[2:] if not w.startswith("-")]


def debian_packages(headings):
    """Every Debian package the sections ``headings`` install with apt-get."""
    found = set()
    for heading in headings:
        for block in section_blocks(heading):
            for command in commands(block):
                found.update(apt_packages(command) or ())
    return sorted(found)


def rewrite(command):
    """What the test runs for the guide's ``command`` (see the module docstring)."""
    words = shlex.split(command, comments=True)
    plain = words[1:] if words[0] == "sudo" else words
    packages = apt_packages(command)
    if packages is not None:
        return "dpkg-query --show %s  # %s" % (" ".join(packages), command)
    if plain[0] == "make" and "wheelhouse" in plain:
        return ": wheelhouse built by the test  # %s" % command
    if plain[0] == "scp" and "-r" in plain:
        return ": wheelhouse copied by the test  # %s" % command
    if plain[0] == "scp":
        sources, target = plain[1:-1], plain[-1]
        paths = []
        for source in sources:
            assert source.startswith("tech@broker:"), "scp from where? %s" % command
            path = source.split(":", 1)[1]
            paths.append(path if path.startswith("/") else "/root/" + path)
        return "cp %s %s  # %s" % (" ".join(shlex.quote(p) for p in paths),
                                   shlex.quote(target), command)
    if plain[0] in ("raspi-config", "reboot"):
        return ": not here  # %s" % command
    if plain[0] == "journalctl" and "-f" in plain:
        kept = [w for w in words if w != "-f"] + ["--no-pager", "-n", "20"]
        return " ".join(shlex.quote(w) for w in kept)
    return command


def section_scripts(heading):
    """One bash script for each ``sh`` block of section ``heading``, to run inside the machine."""
    return ["\n".join(["set -e -x"] + [rewrite(command) for command in commands(block)])
            + "\n" for block in section_blocks(heading)]
