"""Promotions: promo codes (a discount on a purchase) and referral links (a reward for bringing a buyer).

How a code's use limit holds when many customers pay at once, and how a payment that arrives after
the code ran out is still honoured, is told in `services.py`.
"""
