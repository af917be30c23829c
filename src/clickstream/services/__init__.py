"""The platform's services: what `run`, `demo`, `validate`, `monitor`, `dashboard` and `status` do,
apart from flags and rendering (which stay in `cli`)."""
