"""`python -m smslab` runs the CLI."""

from smslab.cli import main

main()
