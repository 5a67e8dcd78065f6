from osmo.entrypoints.cli import main

main()
