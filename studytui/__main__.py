from studytui.cli.main import run

run()
