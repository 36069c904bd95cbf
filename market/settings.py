"""Settings for the shop, all read from the environment (and `.env` when present).

Every setting is documented in `.env.example`.
"""

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The real environment wins over `.env` (read_env never overrides set variables).
environ.Env.read_env(BASE_DIR / ".env", parse_comments=True)

DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _secret_key() -> str:
    # Read raw: django-environ would take a key starting with "$" (Django's generator makes
    # such keys) for a reference to another variable. read_env put .env values in os.environ.
    key = os.environ.get("DJANGO_SECRET_KEY", "").strip()
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. With DJANGO_DEBUG off a secret key is required: "
            "set DJANGO_SECRET_KEY in the environment or in .env "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
    # Development: a random key kept in a git-ignored file, so the admin and the bot share it
    # and no key is ever a constant in the repository.
    return dev_secret_key(BASE_DIR / ".dev-secret-key")


def dev_secret_key(key_file: Path) -> str:
    """The key in `key_file`, created on first use, readable by its owner only (0600).

    Processes starting at once must all read one complete key: the key is written to a private
    temporary file beside it, which is then linked into place only if no key is there yet
    (os.link fails rather than overwrite). Nobody ever sees a half-written key, and the first
    process to link wins for everyone.
    """
    if not key_file.exists():
        fd, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=f"{key_file.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(50))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, key_file)
        finally:
            os.unlink(temporary)
    elif key_file.stat().st_mode & 0o077:
        with contextlib.suppress(OSError):  # a key made world-readable by an older version
            key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

if not DEBUG:
    # Production sits behind an HTTPS proxy (Telegram only calls https:// webhooks).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
    # Subdomains and preloading are the owner's decision for the whole domain, not the shop's.
    SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

INSTALLED_APPS = [
    "backoffice.apps.ShopAdminConfig",  # django.contrib.admin, with the shop's dashboard on its front page
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "shop",
    "shop.stock",
    "shop.support",
    "shop.reviews",
    "shop.promotions",
    "shop.search",
    "shop.access",
    "botapp",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:
    # Static files (the admin's CSS and JS) served by the app itself, after `collectstatic`.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "market.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "market.wsgi.application"

DATABASES = {"default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The bot handles updates on several threads: WAL lets readers run beside a writer,
    # IMMEDIATE takes the write lock up front (no deadlock on upgrade), timeout waits for it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so the end-to-end tests can run `runbot` in a subprocess on it;
    # one per test process, so parallel runs never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"shop-test-{os.getpid()}.sqlite3")}
# The cache several processes share (flood control): local memory by default (one process);
# redis://127.0.0.1:6379/0 in production, so every process and host counts a user's updates together.
CACHES = {"default": env.cache_url_config(env.str("CACHE_URL", default="") or "locmemcache://")}
if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # Waits for a customer's message and flood budgets live here: room for many customers, not Django's 300.
    CACHES["default"].setdefault("OPTIONS", {})["MAX_ENTRIES"] = 100_000

DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["market.formats"]  # dates day first, in every language

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
STORAGES = {
    # Product files are private goods: kept on disk for the bot, never served by URL.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default="") or BASE_DIR / "media")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "botapp.logging.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s [%(processName)s] %(name)s: %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # telebot and urllib3 log request URLs and parameters (the token, what is sent: hidden
    # content too) at DEBUG: they stay at INFO whatever LOG_LEVEL says.
    "loggers": {"TeleBot": {"level": "INFO"}, "urllib3": {"level": "INFO"}},
}

# --- The shop ---
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="https://api.telegram.org").rstrip("/")
# Seconds to wait for the Bot API to answer a call (long polls wait longer, as they must).
TELEGRAM_TIMEOUT = env.int("TELEGRAM_TIMEOUT", default=30)
# Webhook mode: Telegram sends this back in X-Telegram-Bot-Api-Secret-Token ([A-Za-z0-9_-], 1-256 chars).
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET", default="")
TELEGRAM_BOT_USERNAME = env.str("TELEGRAM_BOT_USERNAME", default="").lstrip("@")
try:
    ADMIN_IDS = [int(i) for i in env.list("ADMIN_IDS", default=[]) if i.strip()]
except ValueError as exc:
    raise ImproperlyConfigured("ADMIN_IDS must be comma-separated numeric Telegram user ids, e.g. ADMIN_IDS=12345,67890") from exc
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="XTR").upper()
SHOP_SUPPORT_CONTACT = env.str("SHOP_SUPPORT_CONTACT", default="")
# Referral reward: a personal promo code of this many percent off (0: no rewards), valid this many days.
SHOP_REFERRAL_REWARD_PERCENT = env.int("SHOP_REFERRAL_REWARD_PERCENT", default=10)
SHOP_REFERRAL_REWARD_DAYS = env.int("SHOP_REFERRAL_REWARD_DAYS", default=30)
# Needed when SHOP_CURRENCY is not XTR: the token of a payment provider connected in @BotFather.
PAYMENT_PROVIDER_TOKEN = env.str("PAYMENT_PROVIDER_TOKEN", default="")
# Delivered content cannot be forwarded or saved by the buyer.
DELIVERY_PROTECT_CONTENT = env.bool("DELIVERY_PROTECT_CONTENT", default=True)
# First wait before a delivery Telegram could not take is tried again (then doubling, up to an hour).
DELIVERY_RETRY_SECONDS = env.int("DELIVERY_RETRY_SECONDS", default=30)

# Hours after a delivery the bot asks the buyer to rate the product (0: at once).
REVIEW_INVITATION_HOURS = env.float("REVIEW_INVITATION_HOURS", default=24)

# Background work (retrying deliveries) is kept in the database; `runbot` runs the worker.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# How often the background worker checks for chat access that ran out (shop.access), in seconds.
ACCESS_CHECK_SECONDS = env.int("ACCESS_CHECK_SECONDS", default=120)
BOT_WORKERS = env.int("BOT_WORKERS", default=4)
BOT_PROCESSES = env.int("BOT_PROCESSES", default=1)
# Flood control per user: a burst of FLOOD_BURST updates, then FLOOD_RATE a second (0: off).
FLOOD_RATE = env.float("FLOOD_RATE", default=3.0)
FLOOD_BURST = env.int("FLOOD_BURST", default=10)
