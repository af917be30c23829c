"""Data quality: Great Expectations suites per layer, validated per completed window, results in `dq_results`.

Importing this package does not import Great Expectations: only `quality.gx` does, when a window is
validated, so the pipeline and the other commands start without it.
"""

LAYERS: tuple[str, ...] = ("bronze", "silver", "gold")
