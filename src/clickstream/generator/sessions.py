"""Session and funnel simulation: what one visitor does, in order, before any timestamps exist.

Rates follow the brief for the platform's demo data: about 30% of sessions add to cart, half of
the carts that survive removals reach checkout, and 65% of checkouts become a purchase.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from clickstream.contract.schema import DEFAULT_EVENT_TYPES
from clickstream.generator import catalogue as cat_mod
from clickstream.generator.catalogue import Catalogue

EVENT_TYPES = DEFAULT_EVENT_TYPES
PAGE_VIEW, CLICK, SEARCH, ADD_TO_CART, REMOVE_FROM_CART, CHECKOUT, PURCHASE = (
    EVENT_TYPES.index(t)
    for t in ("page_view", "click", "search", "add_to_cart", "remove_from_cart", "checkout", "purchase")
)

P_CART = 0.30
P_BOUNCE = 0.45  # of sessions that never add to cart
P_REMOVE = 0.20
P_CHECKOUT = 0.50
P_PURCHASE = 0.65
P_ANONYMOUS = 0.15
P_OWN_DEVICE = 0.85
MEAN_BROWSE_STEPS = 4.0
MAX_BROWSE_STEPS = 40


@dataclass(slots=True)
class SessionInfo:
    """What stays the same for every event of a session, pre-encoded for the renderers."""

    session_id: str
    user_id: str
    currency_idx: int
    currency: str
    device: str
    country: str
    user_agent: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    json_head: str  # user_id and session_id, in contract order
    json_tail: str  # device .. utm_campaign, in contract order, absent utm keys left out
    csv_tail: tuple[str, ...]


class Columns:
    """Events of one or more sessions as parallel lists (cheaper than one object per event)."""

    __slots__ = ("sessions", "types", "pages", "refs", "products", "quantities", "props", "bounds")

    def __init__(self) -> None:
        self.sessions: list[SessionInfo] = []
        self.types: list[int] = []
        self.pages: list[str] = []
        self.refs: list[str | None] = []
        self.products: list[int] = []  # -1: no product
        self.quantities: list[int] = []  # 0: no quantity
        self.props: list[str | None] = []  # JSON text of the properties object
        self.bounds: list[int] = []  # index of each session's first event

    def __len__(self) -> int:
        return len(self.types)

    def truncate(self, n: int) -> None:
        """Keep the first n events; a session cut short just ends earlier."""
        for name in ("sessions", "types", "pages", "refs", "products", "quantities", "props"):
            del getattr(self, name)[n:]
        while self.bounds and self.bounds[-1] >= n:
            self.bounds.pop()


def _weighted_draws(rng: np.random.Generator, weights: np.ndarray, block: int = 16_384) -> Iterator[int]:
    """Endless weighted index draws, made in numpy blocks because per-draw calls are slow."""
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    top = len(weights) - 1
    while True:
        idx = np.searchsorted(cdf, rng.random(block), side="right")
        yield from np.minimum(idx, top).tolist()


def _cum(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


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
        self._device_names = tuple(d for d, _ in cat_mod.DEVICES)
        self._device_cum = _cum([w for _, w in cat_mod.DEVICES])
        self._country_cum = _cum(catalogue.country_weights.tolist())
        self._channel_names = tuple(c for c, _ in cat_mod.CHANNELS)
        self._channel_cum = _cum([w for _, w in cat_mod.CHANNELS])
        self._internal: dict[str, str] = {}
        self._click_props = tuple(
            json.dumps({"element": e}, separators=(",", ":")) for e in cat_mod.CLICK_ELEMENTS
        )
        self._social_source = {
            "https://www.facebook.com/": "facebook",
            "https://www.instagram.com/": "instagram",
            "https://t.co/": "twitter",
            "https://www.reddit.com/": "reddit",
        }

    def _internal_ref(self, page: str) -> str:
        ref = self._internal.get(page)
        if ref is None:
            ref = self._internal[page] = cat_mod.SITE + page
        return ref

    def _info(self) -> tuple[SessionInfo, str, str | None]:
        """Who is visiting and from where: the session's fixed fields, landing page and referrer."""
        cat, rnd = self.cat, self.rnd
        r = rnd.random
        if r() < P_ANONYMOUS:
            user_id = f"anon_{rnd.getrandbits(48):012x}"
            country = rnd.choices(range(len(cat.country_codes)), cum_weights=self._country_cum)[0]
            device = rnd.choices(self._device_names, cum_weights=self._device_cum)[0]
            ua_pick = rnd.getrandbits(16)
        else:
            u = next(self._users)
            user_id = cat.user_ids[u]
            country = self._user_country[u]
            device = self._device_names[self._user_device[u]]
            if r() >= P_OWN_DEVICE:
                device = rnd.choices(self._device_names, cum_weights=self._device_cum)[0]
            ua_pick = self._user_agent[u]
        agents = cat_mod.USER_AGENTS[device]
        user_agent = agents[ua_pick % len(agents)]

        channel = rnd.choices(self._channel_names, cum_weights=self._channel_cum)[0]
        referrer: str | None = None
        utm: tuple[str | None, str | None, str | None] = (None, None, None)
        x = r()
        if channel == "direct":
            landing = "/" if x < 0.6 else self._product_page() if x < 0.85 else self._category_page()
        elif channel == "organic":
            referrer = rnd.choice(cat_mod.SEARCH_REFERRERS)
            landing = self._product_page() if x < 0.5 else self._category_page() if x < 0.8 else "/"
        elif channel == "paid":
            source, referrer = rnd.choice(cat_mod.PAID_SOURCES)
            campaign = rnd.choice(cat_mod.PAID_CAMPAIGNS)
            utm = (source, "cpc", campaign)
            landing = self._product_page() if x < 0.7 else f"/promo/{campaign}"
        elif channel == "email":
            campaign = rnd.choice(cat_mod.EMAIL_CAMPAIGNS)
            utm = ("newsletter", "email", campaign)
            landing = f"/promo/{campaign}" if x < 0.5 else self._product_page()
        else:
            referrer = rnd.choice(cat_mod.SOCIAL_REFERRERS)
            if r() < 0.4:
                utm = (self._social_source[referrer], "social", "influencer_q4")
            landing = self._product_page()

        session_id = f"s_{rnd.getrandbits(64):016x}"
        currency_idx = cat.country_currency[country]
        country_code = cat.country_codes[country]
        tail = f',"device":"{device}","country":"{country_code}","user_agent":{json.dumps(user_agent)}'
        for key, value in zip(("utm_source", "utm_medium", "utm_campaign"), utm):
            if value is not None:
                tail += f',"{key}":"{value}"'
        info = SessionInfo(
            session_id=session_id,
            user_id=user_id,
            currency_idx=currency_idx,
            currency=cat.currencies[currency_idx],
            device=device,
            country=country_code,
            user_agent=user_agent,
            utm_source=utm[0],
            utm_medium=utm[1],
            utm_campaign=utm[2],
            json_head=f'"user_id":"{user_id}","session_id":"{session_id}"',
            json_tail=tail,
            csv_tail=(device, country_code, user_agent, utm[0] or "", utm[1] or "", utm[2] or ""),
        )
        return info, landing, referrer

    # The landing page is drawn before the session exists, so product landings remember their id.
    _landing_product: int = -1

    def _product_page(self) -> str:
        p = next(self._products)
        self._landing_product = p
        return self.cat.product_pages[p]

    def _category_page(self) -> str:
        return self.rnd.choice(self.cat.category_pages)

    def session(self, out: Columns) -> SessionInfo:
        """Append one whole session's events to `out` and return its fixed fields."""
        cat, rnd = self.cat, self.rnd
        r = rnd.random
        self._landing_product = -1
        info, page, ref = self._info()
        out.bounds.append(len(out.types))
        a_sess, a_type, a_page = out.sessions.append, out.types.append, out.pages.append
        a_ref, a_prod, a_qty, a_props = (
            out.refs.append,
            out.products.append,
            out.quantities.append,
            out.props.append,
        )

        def emit(etype: int, on_page: str, prod: int = -1, qty: int = 0, props: str | None = None) -> None:
            a_sess(info)
            a_type(etype)
            a_page(on_page)
            a_ref(ref)
            a_prod(prod)
            a_qty(qty)
            a_props(props)

        emit(PAGE_VIEW, page)
        last_product = self._landing_product if page.startswith("/p/") else -1

        def view(new_page: str) -> None:
            nonlocal page, ref
            ref = self._internal_ref(page)
            page = new_page
            emit(PAGE_VIEW, page)

        def view_product() -> None:
            nonlocal last_product
            if last_product >= 0 and r() < 0.4:
                same = cat.products_by_category[cat.product_category[last_product]]
                p = rnd.choice(same)
            else:
                p = next(self._products)
            last_product = p
            view(cat.product_pages[p])

        def browse() -> None:
            x = r()
            if x < 0.45:
                view_product()
            elif x < 0.62:
                view(rnd.choice(cat.category_pages))
            elif x < 0.78:
                q = rnd.randrange(len(cat.queries))
                emit(SEARCH, page, props=cat.query_props[q])
                view(cat.query_pages[q])
            else:
                emit(CLICK, page, props=rnd.choice(self._click_props))

        wants_cart = r() < P_CART
        if not wants_cart and r() < P_BOUNCE:
            return info
        steps = min(MAX_BROWSE_STEPS, int(rnd.expovariate(1.0 / MEAN_BROWSE_STEPS)))
        for _ in range(steps):
            browse()
        if not wants_cart:
            return info

        cur = info.currency_idx
        cart: dict[int, int] = {}
        n_items = 1 + (r() < 0.35) + (r() < 0.12)
        for k in range(n_items):
            if last_product < 0 or k > 0 or r() < 0.3:
                view_product()
            qty = 1 if r() < 0.70 else 2 if r() < 0.73 else 3
            emit(ADD_TO_CART, page, last_product, qty)
            cart[last_product] = cart.get(last_product, 0) + qty
            if r() < 0.3:
                browse()
        on_cart_page = False
        if r() < P_REMOVE:
            view("/cart")
            on_cart_page = True
            p = rnd.choice(list(cart))
            emit(REMOVE_FROM_CART, page, p, cart.pop(p))
        if not cart or r() >= P_CHECKOUT:
            return info
        if not on_cart_page:
            view("/cart")
        prices = cat.price_value[cur]
        value = round(sum(prices[p] * q for p, q in cart.items()), 2)
        view("/checkout")
        emit(CHECKOUT, page, props=f'{{"items":{sum(cart.values())},"value":{json.dumps(value)}}}')
        if r() >= P_PURCHASE:
            return info
        view("/checkout/confirmation")
        order = f'{{"order_id":"o_{rnd.getrandbits(48):012x}"}}'
        for p, q in cart.items():
            emit(PURCHASE, page, p, q, order)
        return info


def simulate_events(sim: SessionSimulator, n: int) -> Columns:
    """Exactly n events from whole sessions; the last session is cut short to hit n."""
    cols = Columns()
    while len(cols.types) < n:
        sim.session(cols)
    cols.truncate(n)
    return cols
