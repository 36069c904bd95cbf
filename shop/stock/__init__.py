"""Stock of unique units: a key, a code or an account per buyer, never the same one to two buyers.

A product sold from stock (`Product.sells_units`) hands each buyer their own units besides its
shared hidden content and file. How a unit is never sold twice, and a payment never left without
its units or its money back, is told in `services.py`.
"""
