"""`python manage.py recover`: pick up deliveries and broadcasts a dead process left, and keep the periodic sweep queued."""

from django.core.management.base import BaseCommand

from botapp.recovery import recover, schedule_recovery


class Command(BaseCommand):
    help = (
        "Settle delivery and broadcast claims that have run out, queue every paid purchase whose content has "
        "not arrived, and queue the background sweep that does this every few minutes (run by db_worker or runbot)."
    )

    def handle(self, *args, **options):
        recovery = recover()
        schedule_recovery()
        self.stdout.write(
            f"Queued {recovery.deliveries_queued} undelivered purchase(s); released {recovery.deliveries_released} "
            f"delivery claim(s) and {recovery.broadcast_sends_released} broadcast send(s)"
            + ("; a broadcast is being sent." if recovery.broadcast_resumed else ".")
        )
