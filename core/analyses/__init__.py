"""Analyses: one module per question a lead asks (overview, AIPL over time, funnels, retention, A/B).

The pattern (see `overview.py`): a frozen spec in, a frozen result with derived `@property`
values and `to_dict()` out; SQL in `queries/` (run with `Dataset.query` or, with trees in its
slots such as a base segment, `core.queries.named_query` + `Dataset.run`). The page and the
CLI both render the result; neither aggregates.
"""
