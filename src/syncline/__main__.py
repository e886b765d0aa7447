from syncline.cli import run

run()
