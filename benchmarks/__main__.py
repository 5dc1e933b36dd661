"""Entry point of `make bench` (nothing to measure yet: it says so plainly)."""

import sys


def main():
    """Say plainly that there is nothing to benchmark yet."""
    print("make bench: nothing to measure yet (the board and the agent are "
          "not built).", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
