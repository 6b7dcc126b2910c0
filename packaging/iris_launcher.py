"""Entry script of the frozen Iris bundle (PyInstaller): the window and the subcommands.

Kept outside ``desktop_app`` so the package has no idea it is frozen. This
folder is *not* a Python package (no ``__init__.py``): a package named
``packaging`` would shadow the PyPI ``packaging`` library.
"""

from desktop_app.__main__ import console_main

if __name__ == "__main__":
    console_main()
