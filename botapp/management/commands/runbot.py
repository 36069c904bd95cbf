"""`python manage.py runbot`: the shop's bot, long polling Telegram."""

import logging
import signal
import threading

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation
from telebot.apihelper import ApiException, ApiTelegramException
from telebot.types import BotCommand

from botapp import texts
from botapp.bot import create_bot
from botapp.polling import Poller
from botapp.processes import WorkerProcesses
from botapp.recovery import recover, schedule_recovery
from botapp.telegram.client import BotConfigError, check_payment_settings
from botapp.worker import EmbeddedWorker

log = logging.getLogger("botapp.runbot")

SHUTDOWN_GRACE = 20.0


class Command(BaseCommand):
    help = "Run the Telegram bot (long polling). Stop with Ctrl-C or SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument(
            "--delete-webhook",
            action="store_true",
            help="If a webhook is set for the bot, remove it and poll instead.",
        )
        parser.add_argument(
            "--no-task-worker",
            action="store_true",
            help="Do not run background tasks here (when `manage.py db_worker` runs them elsewhere).",
        )
        parser.add_argument("--workers", type=int, default=settings.BOT_WORKERS, help="Worker threads (default: BOT_WORKERS).")
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.BOT_PROCESSES,
            help="Worker processes, each with --workers threads, fed by one poller (default: BOT_PROCESSES; 1: "
            "this process handles the updates).",
        )

    def handle(self, *args, delete_webhook=False, workers=4, processes=1, no_task_worker=False, **options):
        started = timezone.now()
        try:
            check_payment_settings()
            bot = create_bot()
        except BotConfigError as exc:
            raise CommandError(str(exc)) from None

        try:
            me = bot.get_me()
            webhook = bot.get_webhook_info()
        except ApiTelegramException as exc:
            if exc.error_code == 401:
                raise CommandError(
                    "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): copy the token again from @BotFather."
                ) from None
            raise CommandError(f"The Bot API refused to start the bot: {exc.error_code} {exc.description}") from None
        except (requests.RequestException, ApiException) as exc:
            raise CommandError(
                f"Cannot reach the Bot API at {settings.TELEGRAM_API_URL} ({exc.__class__.__name__}). "
                "Check the network or TELEGRAM_API_URL."
            ) from None

        if webhook.url:
            if not delete_webhook:
                raise CommandError(
                    f"A webhook is set for @{me.username} ({webhook.url}), so polling would conflict with it. "
                    "Run `python manage.py runbot --delete-webhook` to remove the webhook and poll instead."
                )
            bot.delete_webhook(drop_pending_updates=False)
            log.info("Removed the webhook %s; polling instead.", webhook.url)

        register_commands(bot)

        if processes < 1:
            raise CommandError("--processes must be at least 1.")
        pool = None
        if processes > 1:
            pool = WorkerProcesses(processes, threads=workers)
            pool.start()
        poller = Poller(bot, workers=workers, processes=pool)
        thread = threading.Thread(target=poller.run, name="bot-poller", daemon=True)
        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        task_worker = None
        if not no_task_worker:
            # Claims made before this process started belong to a process that is gone (its worker with it).
            if recover(dead_before=started).broadcast_resumed:
                log.info("A broadcast is being sent; the worker goes on with it.")
            schedule_recovery()
            task_worker = EmbeddedWorker()
            task_worker.start()
        thread.start()
        log.info(
            "Bot @%s is running (polling, %d process%s, %d workers each). Press Ctrl-C to stop.",
            me.username,
            processes,
            "es" if processes > 1 else "",
            workers,
        )
        while not stop.wait(0.5) and thread.is_alive():
            pass
        crashed = not stop.is_set()
        log.info("Stopping...")
        if not poller.shutdown(SHUTDOWN_GRACE):
            log.warning("Some updates were still being processed; they will be handled again after a restart.")
        if pool is not None:
            pool.stop(SHUTDOWN_GRACE)
        if task_worker is not None:
            task_worker.stop(SHUTDOWN_GRACE)
        log.info("Bot stopped.")
        if crashed:
            raise CommandError("Polling stopped unexpectedly (see the log above).")


def register_commands(bot) -> None:
    """The command menu in Telegram, in English (the default) and Russian."""
    for language in ("en", "ru"):
        with translation.override(language):
            commands = [BotCommand(name, text) for name, text in texts.command_descriptions().items()]
        bot.set_my_commands(commands, language_code=None if language == "en" else language)
