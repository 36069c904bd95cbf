"""Selling access to a private channel or group: for good (one payment) or by a monthly Stars subscription.

A product with a `ChatAccess` lets its buyers into a chat. Each payment for it is a Purchase (renewals
too, one each, by their unique charge id) with the `AccessPeriod` it paid for; a customer's
`Membership` of the product is paid until the end of their latest paid period. The bot lets buyers in
(an invite link, or join requests it approves) and, when what they paid for has ended, removes them.
No Telegram library here: the bot (botapp/access.py) makes the calls and reports back.
"""
