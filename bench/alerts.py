"""Alerting quality: recall, detection delay and false alerts per simulated day, per detector.

Simulates days of traffic at minute resolution (the generator's daily cycle, day-to-day level
changes, over-dispersed noise; time is fed, not waited for), injects a labelled set of incidents of
every kind at random times, and replays the real monitor (detectors, alert lifecycle in an
in-memory `alerts` table) over it, one pass per simulated minute.
    python bench/alerts.py [--seed 1] [--per-kind 6] [--every 1]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from clickstream.config import load_settings
from clickstream.monitoring.simulation import EXPECTED_ALERT, place_incidents, replay, score, simulate_feed

WARMUP_DAYS = 3.0  # monitoring.volume.min_baseline_periods earlier days before the first verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1, help="Scenario seed: traffic, incident kinds, times and sizes.")
    parser.add_argument("--per-kind", type=int, default=6, help="Incidents of each kind.")
    parser.add_argument("--every", type=float, default=1.0, help="Simulated minutes between monitor passes.")
    parser.add_argument("--rate", type=float, default=100.0, help="Mean events per minute (before the daily cycle).")
    parser.add_argument("--config", default=None, help="YAML settings whose `monitoring` section is evaluated.")
    args = parser.parse_args()

    settings = load_settings(args.config).monitoring
    rng = np.random.default_rng(args.seed)
    incidents, days = place_incidents(rng, args.per_kind, WARMUP_DAYS)
    feed = simulate_feed(days, seed=args.seed, rate_per_min=args.rate, incidents=incidents)
    t0 = time.perf_counter()
    result = replay(feed, settings, every_min=args.every)
    seconds = time.perf_counter() - t0
    scores = score(feed, result.notifications)
    judged_days = days - WARMUP_DAYS

    print(f"seed {args.seed}: {days:.1f} simulated days ({judged_days:.1f} after a {WARMUP_DAYS:g}-day warm-up), "
          f"{len(incidents)} incidents, a pass every {args.every:g} min, replayed in {seconds:.1f}s")  # fmt: skip
    print()
    header = ("detector", "incidents", "detected", "recall", "mean delay", "max delay", "false alerts", "false/day")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    kinds = {v: k for k, v in EXPECTED_ALERT.items()}
    for alert_type, s in scores.items():
        if not s.incidents and not s.false_alerts:
            continue
        name = f"{alert_type} ({kinds[alert_type]})" if alert_type in kinds else alert_type
        mean = f"{np.mean(s.delays_min):.1f} min" if s.delays_min else "-"
        worst = f"{max(s.delays_min):.0f} min" if s.delays_min else "-"
        recall = "-" if math.isnan(s.recall) else f"{s.recall:.2f}"
        print(f"| {name} | {s.incidents} | {s.detected} | {recall} | {mean} | {worst} | {s.false_alerts} | "
              f"{s.false_alerts / judged_days:.2f} |")  # fmt: skip
    total_incidents = sum(s.incidents for s in scores.values())
    total_detected = sum(s.detected for s in scores.values())
    total_false = sum(s.false_alerts for s in scores.values())
    print(f"| all | {total_incidents} | {total_detected} | {total_detected / total_incidents:.2f} | | | "
          f"{total_false} | {total_false / judged_days:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
