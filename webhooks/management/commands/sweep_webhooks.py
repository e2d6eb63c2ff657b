"""Run one webhook sweep in this process: send what is due now, no worker needed."""

import json

from django.core.management.base import BaseCommand

from webhooks.selectors import sending_problems
from webhooks.services import deliveries_sweep


class Command(BaseCommand):
    help = "Send due webhook deliveries now, in this process (one sweep, no worker or broker)."

    def handle(self, *args, **options):
        for problem in sending_problems():
            self.stderr.write(problem)
        stats = deliveries_sweep()
        self.stdout.write(json.dumps(stats))
