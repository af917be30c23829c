"""Session and funnel simulation: what one visitor does, in order, before any timestamps exist.

Rates follow the brief for the platform's demo data: about 30% of sessions add to cart, about half
of the carts reach checkout, and 65% of checkouts become a purchase.

This is the per-event hot path of a million-event batch, hence plain tuples, inlined steps and
`seq[int(r() * len(seq))]` instead of `random.choice` (three times faster, equally seeded).
"""

from __future__ import annotations

import json
import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from clickstream.contract.schema import DEFAULT_EVENT_TYPES
from clickstream.generator import catalogue as cat_mod
from clickstream.generator.catalogue import Catalogue

# The simulated shop never refunds: refunds come from back-office systems, not browsing sessions.
EVENT_TYPES = tuple(t for t in DEFAULT_EVENT_TYPES if t != "refund")
PAGE_VIEW, CLICK, SEARCH, ADD_TO_CART, REMOVE_FROM_CART, CHECKOUT, PURCHASE = (
    EVENT_TYPES.index(t)
    for t in ("page_view", "click", "search", "add_to_cart", "remove_from_cart", "checkout", "purchase")
)

P_CART = 0.30
P_BOUNCE = 0.45  # of sessions that never add to cart
P_REMOVE = 0.20
# Of carts still holding items after removals (about 12% end empty), so ~50% of all carts.
P_CHECKOUT = 0.56
P_PURCHASE = 0.65
P_ANONYMOUS = 0.15
P_OWN_DEVICE = 0.85
MEAN_BROWSE_STEPS = 4.0
MAX_BROWSE_STEPS = 40
# Steps of a session plan.
BROWSE, FIRST_ITEM, NEXT_ITEM = 0, 1, 2


def csv_cell(value: str | None) -> str:
    """One CSV cell exactly as the csv module writes it with QUOTE_MINIMAL."""
    if value is None:
        return ""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass(frozen=True, slots=True)
class Profile:
    """Device, place and campaign of a session; shared by every session with the same values."""

    device: str
    country: str
    currency_idx: int
    currency: str
    user_agent: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    json_tail: str  # device .. utm_campaign as JSON members, absent utm keys left out
    csv_tail: str  # device .. utm_campaign as CSV cells


@dataclass(slots=True)  # not frozen: frozen __init__ costs a microsecond per session
class SessionInfo:
    """What stays the same for every event of a session."""

    session_id: str
    user_id: str
    profile: Profile
    json_head: str  # user_id and session_id as JSON members


# One simulated event: (session, type index, page_url, referrer, product index or -1,
# quantity or 0, properties as JSON text or None). Timestamps and ids are added later.
Event = tuple[SessionInfo, int, str, "str | None", int, int, "str | None"]


def _weighted_draws(rng: np.random.Generator, weights: np.ndarray, block: int = 16_384) -> Iterator[int]:
    """Endless weighted index draws, made in numpy blocks because per-draw calls are slow.

    Draws index a table in which each index fills a share of 2**20 slots equal to its weight: a
    binary search over 100k users per draw misses the cache on every probe and was 3x slower.
    """
    slots = 1 << 20
    edges = np.floor(np.cumsum(weights) / np.sum(weights) * slots).astype(np.int64)
    edges[-1] = slots
    table = np.repeat(np.arange(len(weights)), np.diff(edges, prepend=0))
    while True:
        yield from table[rng.integers(0, slots, block)].tolist()


def _cum(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return [c / acc for c in out]


class SessionSimulator:
    """Draws sessions (users, channels, pages, carts) from the catalogue with seeded randomness."""

    def __init__(self, catalogue: Catalogue, rnd: random.Random, rng: np.random.Generator) -> None:
        self.cat = catalogue
        self.rnd = rnd
        self._users = _weighted_draws(rng, catalogue.user_weights)
        self._products = _weighted_draws(rng, catalogue.product_weights)
        self._user_country = catalogue.user_country.tolist()
        self._user_device = catalogue.user_device.tolist()
        self._user_agent = catalogue.user_agent.tolist()
        self._devices = tuple(d for d, _ in cat_mod.DEVICES)
        self._device_cum = _cum([w for _, w in cat_mod.DEVICES])
        self._country_cum = _cum(catalogue.country_weights.tolist())
        self._channels = tuple(c for c, _ in cat_mod.CHANNELS)
        self._channel_cum = _cum([w for _, w in cat_mod.CHANNELS])
        self._profiles: dict[tuple, Profile] = {}
        self._click_props = tuple(
            json.dumps({"element": e}, separators=(",", ":")) for e in cat_mod.CLICK_ELEMENTS
        )
        self._social_source = {
            "https://www.facebook.com/": "facebook",
            "https://www.instagram.com/": "instagram",
            "https://t.co/": "twitter",
            "https://www.reddit.com/": "reddit",
        }
        fixed = ["/", "/cart", "/checkout", "/checkout/confirmation"]
        promos = [f"/promo/{c}" for c in (*cat_mod.PAID_CAMPAIGNS, *cat_mod.EMAIL_CAMPAIGNS)]
        pages = [*fixed, *promos, *catalogue.product_pages, *catalogue.category_pages, *catalogue.query_pages]
        self._internal = {p: cat_mod.SITE + p for p in pages}

    def _profile(self, device: str, country: int, ua_pick: int, utm: tuple) -> Profile:
        agents = cat_mod.USER_AGENTS[device]
        key = (device, country, ua_pick % len(agents), utm)
        prof = self._profiles.get(key)
        if prof is None:
            cat = self.cat
            ua = agents[key[2]]
            code = cat.country_codes[country]
            cur = cat.country_currency[country]
            tail = f',"device":"{device}","country":"{code}","user_agent":{json.dumps(ua)}'
            for name, value in zip(("utm_source", "utm_medium", "utm_campaign"), utm):
                if value is not None:
                    tail += f',"{name}":"{value}"'
            cells = ",".join(csv_cell(v) for v in (device, code, ua, *utm))
            prof = self._profiles[key] = Profile(
                device, code, cur, cat.currencies[cur], ua, *utm, json_tail=tail, csv_tail=cells
            )
        return prof

    def _start(self) -> tuple[SessionInfo, str, str | None, int]:
        """Who visits and from where: the session, its landing page, referrer and landing product."""
        cat, rnd = self.cat, self.rnd
        r = rnd.random
        if r() < P_ANONYMOUS:
            user_id = f"anon_{rnd.getrandbits(48):012x}"
            country = bisect(self._country_cum, r())
            device = self._devices[bisect(self._device_cum, r())]
            ua_pick = rnd.getrandbits(16)
        else:
            u = next(self._users)
            user_id = cat.user_ids[u]
            country = self._user_country[u]
            device = self._devices[self._user_device[u]]
            if r() >= P_OWN_DEVICE:
                device = self._devices[bisect(self._device_cum, r())]
            ua_pick = self._user_agent[u]

        channel = self._channels[bisect(self._channel_cum, r())]
        referrer: str | None = None
        utm: tuple[str | None, str | None, str | None] = (None, None, None)
        product = next(self._products)
        x = r()
        if channel == "direct":
            landing = "/" if x < 0.6 else "P" if x < 0.85 else "C"
        elif channel == "organic":
            referrer = _pick(cat_mod.SEARCH_REFERRERS, r())
            landing = "P" if x < 0.5 else "C" if x < 0.8 else "/"
        elif channel == "paid":
            source, referrer = _pick(cat_mod.PAID_SOURCES, r())
            campaign = _pick(cat_mod.PAID_CAMPAIGNS, r())
            utm = (source, "cpc", campaign)
            landing = "P" if x < 0.7 else f"/promo/{campaign}"
        elif channel == "email":
            campaign = _pick(cat_mod.EMAIL_CAMPAIGNS, r())
            utm = ("newsletter", "email", campaign)
            landing = f"/promo/{campaign}" if x < 0.5 else "P"
        else:
            referrer = _pick(cat_mod.SOCIAL_REFERRERS, r())
            if r() < 0.4:
                utm = (self._social_source[referrer], "social", "influencer_q4")
            landing = "P"
        if landing == "P":
            landing = cat.product_pages[product]
        else:
            product = -1
            if landing == "C":
                landing = _pick(cat.category_pages, r())

        session_id = f"s_{rnd.getrandbits(64):016x}"
        info = SessionInfo(
            session_id,
            user_id,
            self._profile(device, country, ua_pick, utm),
            f'"user_id":"{user_id}","session_id":"{session_id}"',
        )
        return info, landing, referrer, product

    def session(self, out: list[Event]) -> SessionInfo:
        """Append one whole session's events to `out` and return the session."""
        cat, rnd = self.cat, self.rnd
        r = rnd.random
        add = out.append
        internal = self._internal
        products = self._products
        product_pages, category_pages = cat.product_pages, cat.category_pages
        by_category, product_category = cat.products_by_category, cat.product_category
        queries, query_props, query_pages = cat.queries, cat.query_props, cat.query_pages
        n_queries = len(queries)
        click_props = self._click_props

        info, page, ref, last_product = self._start()
        add((info, PAGE_VIEW, page, ref, -1, 0, None))

        wants_cart = r() < P_CART
        if not wants_cart and r() < P_BOUNCE:
            return info
        steps = min(MAX_BROWSE_STEPS, int(rnd.expovariate(1.0 / MEAN_BROWSE_STEPS)))
        plan = [BROWSE] * steps
        if wants_cart:
            for k in range(1 + (r() < 0.35) + (r() < 0.12)):
                plan.append(FIRST_ITEM if k == 0 else NEXT_ITEM)
                if r() < 0.3:
                    plan.append(BROWSE)

        cart: dict[int, int] = {}
        for step in plan:
            x = r()
            if step == FIRST_ITEM:
                # Half the time the product on screen goes straight into the cart.
                on_product = last_product >= 0 and page == product_pages[last_product]
                x = 1.0 if on_product and x >= 0.3 else 0.0
            elif step == NEXT_ITEM:
                x = 0.0
            if x < 0.45:
                if last_product >= 0 and r() < 0.4:
                    same = by_category[product_category[last_product]]
                    last_product = same[int(r() * len(same))]
                else:
                    last_product = next(products)
                ref = internal[page]
                page = product_pages[last_product]
                add((info, PAGE_VIEW, page, ref, -1, 0, None))
            elif step != BROWSE:
                pass
            elif x < 0.62:
                ref = internal[page]
                page = category_pages[int(r() * len(category_pages))]
                add((info, PAGE_VIEW, page, ref, -1, 0, None))
            elif x < 0.78:
                q = int(r() * n_queries)
                add((info, SEARCH, page, ref, -1, 0, query_props[q]))
                ref = internal[page]
                page = query_pages[q]
                add((info, PAGE_VIEW, page, ref, -1, 0, None))
            else:
                add((info, CLICK, page, ref, -1, 0, click_props[int(r() * len(click_props))]))
            if step != BROWSE:
                qty = 1 if r() < 0.70 else 2 if r() < 0.73 else 3
                add((info, ADD_TO_CART, page, ref, last_product, qty, None))
                # The shop caps a line at three units, like the quantity picker.
                cart[last_product] = min(3, cart.get(last_product, 0) + qty)
        if not cart:
            return info

        on_cart_page = False
        if r() < P_REMOVE:
            ref, page = internal[page], "/cart"
            add((info, PAGE_VIEW, page, ref, -1, 0, None))
            on_cart_page = True
            items = list(cart)
            p = items[int(r() * len(items))]
            add((info, REMOVE_FROM_CART, page, ref, p, cart.pop(p), None))
        if not cart or r() >= P_CHECKOUT:
            return info
        if not on_cart_page:
            ref, page = internal[page], "/cart"
            add((info, PAGE_VIEW, page, ref, -1, 0, None))
        prices = cat.price_value[info.profile.currency_idx]
        value = round(sum(prices[p] * q for p, q in cart.items()), 2)
        ref, page = internal[page], "/checkout"
        add((info, PAGE_VIEW, page, ref, -1, 0, None))
        props = f'{{"items":{sum(cart.values())},"value":{json.dumps(value)}}}'
        add((info, CHECKOUT, page, ref, -1, 0, props))
        if r() >= P_PURCHASE:
            return info
        ref, page = internal[page], "/checkout/confirmation"
        add((info, PAGE_VIEW, page, ref, -1, 0, None))
        order = f'{{"order_id":"o_{rnd.getrandbits(48):012x}"}}'
        for p, q in cart.items():
            add((info, PURCHASE, page, ref, p, q, order))
        return info


def _pick(seq, x: float):
    return seq[int(x * len(seq))]


def simulate_events(sim: SessionSimulator, n: int) -> tuple[list[Event], list[int]]:
    """Exactly n events from whole sessions, and the index of each session's first event;
    the last session is cut short to hit n."""
    events: list[Event] = []
    bounds: list[int] = []
    while len(events) < n:
        bounds.append(len(events))
        sim.session(events)
    del events[n:]
    return events, bounds
