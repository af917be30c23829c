"""The world the generator simulates: users, products, pages, devices, countries and channels.

The catalogue is built from a fixed seed, independent of the generation seed, so product P00042
has the same price and user u_000123 the same country in every landing folder we ever generate.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SITE = "https://shop.example.com"
CATALOGUE_SEED = 20_261_127
N_PRODUCTS = 400
N_USERS = 100_000

# (ISO 3166-1 alpha-2, ISO 4217, share of traffic, units of local currency per USD)
COUNTRIES: tuple[tuple[str, str, float, float], ...] = (
    ("US", "USD", 0.30, 1.0),
    ("GB", "GBP", 0.10, 0.79),
    ("DE", "EUR", 0.10, 0.92),
    ("FR", "EUR", 0.07, 0.92),
    ("NL", "EUR", 0.04, 0.92),
    ("ES", "EUR", 0.04, 0.92),
    ("IT", "EUR", 0.04, 0.92),
    ("SE", "SEK", 0.02, 10.5),
    ("PL", "PLN", 0.03, 3.95),
    ("CA", "CAD", 0.06, 1.36),
    ("AU", "AUD", 0.04, 1.52),
    ("JP", "JPY", 0.05, 150.0),
    ("IN", "INR", 0.05, 83.0),
    ("BR", "BRL", 0.04, 5.0),
    ("MX", "MXN", 0.02, 17.0),
)

DEVICES: tuple[tuple[str, float], ...] = (("mobile", 0.55), ("desktop", 0.38), ("tablet", 0.07))

USER_AGENTS: dict[str, tuple[str, ...]] = {
    "mobile": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    ),
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
}

# category -> (log-mean of the USD price, search queries people type for it)
CATEGORIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "shoes": (4.2, ("running shoes", "sneakers", "hiking boots", "sandals")),
    "apparel": (3.4, ("rain jacket", "t-shirt", "merino sweater", "jeans slim fit")),
    "electronics": (4.6, ("wireless headphones", "usb c cable", "4k monitor", "smart watch")),
    "home": (3.6, ("coffee grinder", "bed sheets", "crème brûlée torch", "desk lamp")),
    "beauty": (2.9, ("sunscreen spf 50", "face serum", "shampoo")),
    "sports": (3.5, ("yoga mat", "dumbbells", "bike helmet")),
    "toys": (3.0, ("lego", "kids' puzzle", "board games")),
    "books": (2.6, ("cookbook", "sci-fi novel", "python programming")),
    "garden": (3.3, ("garden hose", "plant pots", "pruning shears")),
    "accessories": (3.1, ("backpack", "sunglasses", "leather wallet")),
}

# channel -> share of sessions
CHANNELS: tuple[tuple[str, float], ...] = (
    ("direct", 0.30),
    ("organic", 0.30),
    ("paid", 0.15),
    ("email", 0.10),
    ("social", 0.15),
)
SEARCH_REFERRERS = ("https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/")
SOCIAL_REFERRERS = (
    "https://www.facebook.com/",
    "https://www.instagram.com/",
    "https://t.co/",
    "https://www.reddit.com/",
)
# utm_source -> the referrer its ads come from
PAID_SOURCES: tuple[tuple[str, str], ...] = (
    ("google", "https://www.google.com/"),
    ("facebook", "https://www.facebook.com/"),
    ("bing", "https://www.bing.com/"),
)
PAID_CAMPAIGNS = ("black_friday_2026", "brand_search", "retargeting_q4", "winter_sale")
EMAIL_CAMPAIGNS = ("weekly_digest", "cart_reminder", "black_friday_2026")
CLICK_ELEMENTS = ("nav_menu", "banner", "filter", "sort", "recommendation", "image_gallery")


@dataclass(frozen=True)
class Catalogue:
    """Everything the session simulator draws from; immutable and shared between generations."""

    product_ids: tuple[str, ...]
    product_category: tuple[str, ...]
    product_pages: tuple[str, ...]
    product_weights: np.ndarray
    products_by_category: dict[str, tuple[int, ...]]
    category_pages: tuple[str, ...]
    # price_value[currency_index][product] and its JSON/CSV text, so rendering never formats floats
    currencies: tuple[str, ...]
    price_value: tuple[tuple[float, ...], ...]
    price_text: tuple[tuple[str, ...], ...]
    user_ids: tuple[str, ...]
    user_weights: np.ndarray
    user_country: np.ndarray
    user_device: np.ndarray
    user_agent: np.ndarray
    country_codes: tuple[str, ...]
    country_currency: tuple[int, ...]
    country_weights: np.ndarray
    queries: tuple[str, ...]
    # JSON text of {"query": q} and the URL of its results page, by query index
    query_props: tuple[str, ...]
    query_pages: tuple[str, ...]


def _local_price(usd: float, fx: float) -> float:
    """Shelf prices end in .99 (whole units for currencies that are worth little per unit)."""
    local = usd * fx
    if fx >= 50:
        return float(max(1, round(local, -1 if local > 1000 else 0)))
    return max(0.99, round(math.ceil(local) - 0.01, 2))


@lru_cache(maxsize=1)
def build_catalogue() -> Catalogue:
    """The shared catalogue; built once per process from a fixed seed."""
    from urllib.parse import quote_plus

    rng = np.random.default_rng(CATALOGUE_SEED)
    cats = list(CATEGORIES)
    product_cat_idx = rng.integers(0, len(cats), N_PRODUCTS)
    mus = np.array([CATEGORIES[c][0] for c in cats])[product_cat_idx]
    usd = np.clip(rng.lognormal(mus, 0.6), 1.5, 2500.0)
    # Zipf-like popularity in a shuffled order, so popular products are spread over categories.
    weights = 1.0 / np.arange(1, N_PRODUCTS + 1) ** 1.1
    rng.shuffle(weights)
    weights /= weights.sum()
    product_ids = tuple(f"P{i:05d}" for i in range(1, N_PRODUCTS + 1))
    product_category = tuple(cats[i] for i in product_cat_idx)
    by_cat = {c: tuple(i for i in range(N_PRODUCTS) if product_category[i] == c) for c in cats}

    currencies: list[str] = []
    fx_by_currency: dict[str, float] = {}
    for _, cur, _, fx in COUNTRIES:
        if cur not in fx_by_currency:
            currencies.append(cur)
            fx_by_currency[cur] = fx
    price_value = tuple(
        tuple(_local_price(float(p), fx_by_currency[cur]) for p in usd) for cur in currencies
    )
    price_text = tuple(tuple(json.dumps(v) for v in row) for row in price_value)

    country_weights = np.array([w for _, _, w, _ in COUNTRIES])
    country_weights /= country_weights.sum()
    device_names = [d for d, _ in DEVICES]
    device_weights = np.array([w for _, w in DEVICES])
    user_country = rng.choice(len(COUNTRIES), N_USERS, p=country_weights)
    user_device = rng.choice(len(device_names), N_USERS, p=device_weights / device_weights.sum())
    user_agent = rng.integers(0, 1 << 16, N_USERS)
    # Heavy-tailed activity: a few loyal users come back often, most visit once.
    user_weights = rng.lognormal(0.0, 1.3, N_USERS)
    user_weights /= user_weights.sum()

    queries = tuple(q for c in cats for q in CATEGORIES[c][1])
    return Catalogue(
        product_ids=product_ids,
        product_category=product_category,
        product_pages=tuple(f"/p/{pid}" for pid in product_ids),
        product_weights=weights,
        products_by_category=by_cat,
        category_pages=tuple(f"/c/{c}" for c in cats),
        currencies=tuple(currencies),
        price_value=price_value,
        price_text=price_text,
        user_ids=tuple(f"u_{i:06d}" for i in range(1, N_USERS + 1)),
        user_weights=user_weights,
        user_country=user_country,
        user_device=user_device,
        user_agent=user_agent,
        country_codes=tuple(c for c, _, _, _ in COUNTRIES),
        country_currency=tuple(currencies.index(cur) for _, cur, _, _ in COUNTRIES),
        country_weights=country_weights,
        queries=queries,
        query_props=tuple(
            json.dumps({"query": q}, ensure_ascii=False, separators=(",", ":")) for q in queries
        ),
        query_pages=tuple(f"/search?q={quote_plus(q)}" for q in queries),
    )


def fx_rates_csv(days: list, reporting_currency: str = "USD") -> str:
    """The simulated shop's exchange rates for `days` (dates) as a pipeline.fx_rates_file CSV."""
    per_usd = {cur: fx for _, cur, _, fx in COUNTRIES}
    base = per_usd.get(reporting_currency)
    lines = ["currency,date,rate"]
    if base is None:
        return lines[0] + "\n"  # a reporting currency the shop never sells in: nothing converts
    for cur in sorted(per_usd):
        lines += [f"{cur},{day.isoformat()},{base / per_usd[cur]:.6f}" for day in days]
    return "\n".join(lines) + "\n"
