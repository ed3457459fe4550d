from studytui.cli.entry import run

run()
