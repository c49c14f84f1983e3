"""`python -m lares` runs the command line."""

from lares.cli import main

main()
