"""What happened in the shop, announced by the services that did it.

The domain does not know who acts on these: the bot's receivers (botapp/receivers.py) queue the
work (deliveries, broadcast sending). Each is sent with `purchase_id` or `broadcast_id` as keyword
arguments, and `sender` is the model class.

A signal is sent inside the transaction that made the change, so the work a receiver queues in the
database (django-tasks' database backend) is committed together with the change or not at all: no
worker can see the task before the purchase exists, and a crash between the two cannot lose it.
Receivers therefore only write to the database; they never call Telegram themselves.
"""

from django.dispatch import Signal

# Staff gave a customer a product (purchase_id): it is to be handed over.
purchase_granted = Signal()
# Staff asked for a purchase's content to be sent (again: `again` True if it had arrived before).
delivery_requested = Signal()
# Staff started sending a broadcast (broadcast_id).
broadcast_started = Signal()
# Stock was added to a product (product_id) that customers asked to hear about.
stock_added = Signal()
# A product's stock fell to its low-stock threshold or ran out (product_id, level "low"/"out", available).
stock_low = Signal()
# A purchase's content reached its buyer for the first time (purchase_id).
purchase_delivered = Signal()
# A paid purchase was refunded (purchase_id): what it gave is taken back where the domain can (a review).
purchase_refunded = Signal()
