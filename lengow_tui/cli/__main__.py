from lengow_tui.cli import main

main()
