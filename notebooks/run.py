"""Runs every notebook top to bottom with nbclient and fails on the first error.

    python notebooks/run.py            # check (outputs are not written)
    python notebooks/run.py --write    # refresh the committed outputs
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def main() -> int:
    write = "--write" in sys.argv[1:]
    for path in sorted(HERE.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(HERE)}}).execute()
        if write:
            nbformat.write(notebook, path)
        print(f"ran {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
