"""Reviews: a buyer rates a product 1-5 and may add a short text; the card shows the average and the count.

Only a buyer whose purchase still gives them the product may review it, once per product (rating again
edits the review). Staff hide a review with a reason; a hidden review is neither shown nor counted. The
average is kept in `ProductRating` (a sum and a count, changed in the same transaction as the review), so a
card reads one row instead of adding up every review.
"""
