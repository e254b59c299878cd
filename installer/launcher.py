"""Entry script of the bundle: desktop/__main__.py uses package-relative imports, so it cannot be the script."""

import sys

from desktop.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
