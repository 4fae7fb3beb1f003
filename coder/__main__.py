"""`python -m coder` runs the command-line interface."""

from .cli import app

app(prog_name="coder")
