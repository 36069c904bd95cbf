"""The floors: plain telebot, doing nothing but answer.

`python bench/echo_bot.py` with TELEGRAM_API_URL, TELEGRAM_BOT_TOKEN and BOT_WORKERS set.
- plain (the default): one message for every update.
- ECHO_FAIR=1: the same Bot API calls per update as runbot makes for the workload (a button is
  answered, then its message edited, or an invoice sent for Buy; a pre-checkout answered; a
  message answered with a message), so runbot's ratio to it measures what runbot adds: the
  database, the shop's logic and its own dispatching.
"""

import os
import signal

from telebot import TeleBot, apihelper
from telebot.types import LabeledPrice

apihelper.API_URL = os.environ["TELEGRAM_API_URL"] + "/bot{0}/{1}"
bot = TeleBot(os.environ["TELEGRAM_BOT_TOKEN"], threaded=True, num_threads=int(os.environ.get("BOT_WORKERS", "4")))
FAIR = os.environ.get("ECHO_FAIR") == "1"


@bot.message_handler(func=lambda m: True, content_types=["text", "successful_payment"])
def on_message(message):
    bot.send_message(message.chat.id, "echo")


@bot.callback_query_handler(func=lambda c: True)
def on_callback(call):
    if not FAIR:
        bot.send_message(call.from_user.id, "echo")
        return
    bot.answer_callback_query(call.id)
    if call.data.startswith("buy:"):
        bot.send_invoice(call.from_user.id, "Echo", "Echo", "bench", "", "XTR", [LabeledPrice("Echo", 50)])
    else:
        bot.edit_message_text("echo", call.from_user.id, call.message.message_id)


@bot.pre_checkout_query_handler(func=lambda q: True)
def on_pre_checkout(query):
    if FAIR:
        bot.answer_pre_checkout_query(query.id, ok=True)
    else:
        bot.send_message(query.from_user.id, "echo")


signal.signal(signal.SIGTERM, lambda *_: bot.stop_bot())
bot.infinity_polling(timeout=10, long_polling_timeout=5, allowed_updates=["message", "callback_query", "pre_checkout_query"])
