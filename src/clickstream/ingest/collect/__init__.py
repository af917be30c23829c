"""The HTTP collector: Segment and Snowplow tracker requests appended to fsync'd spool files that
rotate into the landing zone. `clickstream collect` starts it (services/collect.py)."""
