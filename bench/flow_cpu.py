"""CPU per update of the bot's own handling, step by step, in one process: `python bench/flow_cpu.py`.

The bench's customers (/start → catalog → category → product → buy → pre-checkout → pay → My
purchases) go one after the other through `process_update`, as polling's workers call it, against a
local fake Bot API on a thread of its own. Each step's CPU is the handling thread's own
(`time.thread_time`), so the fake's work and the load generator's are not counted. What polling adds
around it (getUpdates, the journal, the hand-offs between threads) is not in these figures; the full
`make bench` measures it all.

    python bench/flow_cpu.py [--customers 300] [--products 10] [--profile cprofile.out]

`--profile` writes a cProfile of the measured customers (read it with `python -m pstats`, or
snakeviz) and prints the 30 functions with the most own and cumulative time.
"""

import argparse
import cProfile
import io
import itertools
import os
import pstats
import statistics
import sys
import time

from bootstrap import database_of_its_own, project_on_path

STEPS = ["start", "catalog", "category", "product", "buy", "pre_checkout", "pay", "purchases"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30, help="customers played before measuring")
    parser.add_argument("--products", type=int, default=10)
    parser.add_argument("--profile", metavar="FILE")
    parser.add_argument("--migrate", action="store_true", help="migrate the database DATABASE_URL names first")
    parser.add_argument("--sql", action="store_true", help="print the SQL of one more customer's steps")
    parser.add_argument(
        "--webhook", action="store_true", help="each update POSTed to the webhook's WSGI app, as gunicorn hands it over"
    )
    args = parser.parse_args()

    migrate = database_of_its_own("flow")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    project_on_path()
    from botapp.testing.fake_bot_api import FakeBotAPI

    api = FakeBotAPI().start()
    os.environ["TELEGRAM_API_URL"] = api.url
    os.environ["TELEGRAM_BOT_TOKEN"] = api.token
    os.environ["TELEGRAM_WEBHOOK_SECRET"] = secret = "flow-" + "s" * 20
    import django

    django.setup()
    from django.core.management import call_command

    if migrate:
        call_command("migrate", verbosity=0, interactive=False)
    import seed

    from botapp.bot import create_bot
    from botapp.dispatch import parse_update, process_update
    from botapp.testing import updates

    ids = seed.seed(args.products)
    bot = create_bot()
    if args.webhook:
        handle = webhook_caller(secret)
    else:

        def handle(raw: dict) -> None:
            process_update(bot, parse_update(raw))

    cpu: dict[str, list[float]] = {step: [] for step in STEPS}
    charge = itertools.count(1)

    statements: list[tuple[str, str]] = []
    step_now = [""]

    def record(execute, sql, params, many, context):
        statements.append((step_now[0], sql % tuple(repr(p) for p in params) if params else sql))
        return execute(sql, params, many, context)

    def customer(user_id: int, measure: bool) -> None:
        user = updates.tg_user(user_id, first_name=f"C{user_id}", username=f"c{user_id}")
        payload = "bench"
        for step in STEPS:
            if step == "start":
                raw = updates.message(user, "/start")
            elif step == "catalog":
                raw = updates.callback(user, "cats:1", message_id=1)
            elif step == "category":
                raw = updates.callback(user, f"cat:{ids['category_id']}:1", message_id=1)
            elif step == "product":
                raw = updates.callback(user, f"prod:{ids['product_id']}:c{ids['category_id']}.1", message_id=1)
            elif step == "buy":
                mark = api.mark()
                raw = updates.callback(user, f"buy:{ids['product_id']}", message_id=1)
            elif step == "pre_checkout":
                raw = updates.pre_checkout(user, payload, total_amount=50)
            elif step == "pay":
                raw = updates.successful_payment(user, payload, total_amount=50, charge_id=f"flow-{next(charge)}")
            else:
                raw = updates.message(user, "/purchases")
            step_now[0] = step
            started = time.thread_time()
            handle(raw)
            spent = time.thread_time() - started
            if measure:
                cpu[step].append(spent)
            if step == "buy":
                invoice = api.wait_for("sendInvoice", lambda call: int(call.params["chat_id"]) == user_id, after=mark)
                payload = invoice.params["payload"]

    first = 10_000_000
    for n in range(args.warmup):
        customer(first + n, measure=False)
    profiler = cProfile.Profile(time.thread_time) if args.profile else None  # CPU, not waiting
    if profiler:
        profiler.enable()
    wall = time.perf_counter()
    for n in range(args.customers):
        customer(first + args.warmup + n, measure=True)
    wall = time.perf_counter() - wall
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    if args.sql:
        from django.db import connection

        with connection.execute_wrapper(record):
            customer(first + args.warmup + args.customers, measure=False)
    api.close()

    every = [x for values in cpu.values() for x in values]
    database = os.environ["DATABASE_URL"].split(":")[0]
    how = "through the webhook's WSGI app" if args.webhook else "process_update"
    print(f"{args.customers} customers, {len(every)} updates, {args.products} products ({database}), {how}")
    print(f"CPU per update: mean {statistics.mean(every) * 1000:.2f} ms, median {statistics.median(every) * 1000:.2f} ms")
    for step in STEPS:
        print(f"  {step:<13} {statistics.mean(cpu[step]) * 1000:6.2f} ms")
    print(f"wall {wall:.1f} s, {len(every) / wall:.0f} updates/s on one thread")
    for step, sql in statements:
        print(f"[{step}] {sql}\n")
    if profiler:
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
            print(out.getvalue())


def webhook_caller(secret: str):
    """A function handing an update to the webhook as gunicorn would: Django's WSGI app, its middleware and the view."""
    import json

    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()

    def start_response(status, headers):
        if not status.startswith("200"):
            raise RuntimeError(f"the webhook answered {status}")

    def call(raw: dict) -> None:
        body = json.dumps(raw).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/telegram/webhook/",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret,
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "https",
        }
        response = app(environ, start_response)
        b"".join(response)
        response.close()

    return call


if __name__ == "__main__":
    sys.exit(main())
