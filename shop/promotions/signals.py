"""What happened in promotions (see shop/signals.py for how signals are used)."""

from django.dispatch import Signal

# A referrer earned a reward code (reward_id): the bot tells them.
referral_rewarded = Signal()
