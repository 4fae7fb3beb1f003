"""`python -m coder` runs the command-line interface."""

from .cli import main

main()
