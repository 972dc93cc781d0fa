"""`python -m yibao`: the `yibao` command, where no console script is installed."""

from yibao.cli.app import main

main()
