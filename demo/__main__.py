"""Entry point of `make demo` (not built yet: it says so plainly)."""

import sys


def main():
    """Say plainly that the demo is not there yet."""
    print("make demo: the board and the ward agents are not built yet; "
          "only the foundation (contract, config, broker link) exists. "
          "Run `make test` to exercise it.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
