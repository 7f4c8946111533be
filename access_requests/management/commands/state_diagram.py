from pathlib import Path

from django.core.management.base import BaseCommand

from access_requests.diagram import render_markdown


class Command(BaseCommand):
    help = "Print (or write with --output) the state diagram generated from the declared transitions."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="file to write, e.g. docs/state-diagram.md")

    def handle(self, *args, output=None, **options):
        text = render_markdown()
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stdout.write(f"wrote {output}")
        else:
            self.stdout.write(text)
