"""The key the monitor infers from a model's name when the project declares none."""

from __future__ import annotations

import pytest

from incidentlab.monitor.check_grain import name_keys


@pytest.mark.parametrize("model, first", [
    ("fct_orders", "order_id"),
    ("stg_shop__order_items", "order_item_id"),
    ("dim_categories", "category_id"),
    ("stg_addresses", "address_id"),
    ("trips", "trip_id"),
    ("int_boxes", "box_id"),
])
def test_the_entity_of_the_name_is_the_first_candidate_and_id_the_last(model, first):
    keys = name_keys(model)
    assert keys[0] == first and keys[-1] == "id"
