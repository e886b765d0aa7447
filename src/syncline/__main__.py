from syncline.cli.main import run

run()
