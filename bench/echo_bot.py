"""The floor: plain telebot answering every update with one message, nothing else.

`python bench/echo_bot.py` with TELEGRAM_API_URL, TELEGRAM_BOT_TOKEN and BOT_WORKERS set.
"""

import os
import signal

from telebot import TeleBot, apihelper

apihelper.API_URL = os.environ["TELEGRAM_API_URL"] + "/bot{0}/{1}"
bot = TeleBot(os.environ["TELEGRAM_BOT_TOKEN"], threaded=True, num_threads=int(os.environ.get("BOT_WORKERS", "4")))


@bot.message_handler(func=lambda m: True, content_types=["text", "successful_payment"])
def on_message(message):
    bot.send_message(message.chat.id, "echo")


@bot.callback_query_handler(func=lambda c: True)
def on_callback(call):
    bot.send_message(call.from_user.id, "echo")


@bot.pre_checkout_query_handler(func=lambda q: True)
def on_pre_checkout(query):
    bot.send_message(query.from_user.id, "echo")


signal.signal(signal.SIGTERM, lambda *_: bot.stop_bot())
bot.infinity_polling(timeout=10, long_polling_timeout=5, allowed_updates=["message", "callback_query", "pre_checkout_query"])
