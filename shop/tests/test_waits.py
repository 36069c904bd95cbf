"""Wait hints (shop.waits): a hint set is taken once; what is not a Telegram id never has one."""

import warnings
from datetime import timedelta

from shop.waits import wait_hint_set, wait_hint_take


def test_a_hint_is_taken_once():
    wait_hint_set("review", 4242, timedelta(minutes=5))
    assert wait_hint_take("review", 4242) is True
    assert wait_hint_take("review", 4242) is False
    assert wait_hint_take("support", 4242) is False


def test_a_forged_sender_has_no_hint_and_makes_no_odd_cache_key():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django warns of cache keys memcached would refuse
        assert wait_hint_take("review", [[], {}]) is False
        assert wait_hint_take("review", True) is False
