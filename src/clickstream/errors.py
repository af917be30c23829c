"""Project exceptions. Their message is shown to the user as is, so it says what to do."""


class ClickstreamError(Exception):
    """An error the user can act on; the CLI prints its message and exits with code 2."""


class ConfigError(ClickstreamError):
    """A missing, unreadable or invalid setting."""


class LandingError(ClickstreamError):
    """The landing zone cannot be listed or read."""


class WarehouseError(ClickstreamError):
    """The warehouse cannot be opened or written."""


class DashboardError(ClickstreamError):
    """The dashboard definition is invalid or the dashboard cannot be served."""


class WarehouseBusyError(WarehouseError):
    """The warehouse file is held by a running pipeline in another process."""


class GeneratorError(ClickstreamError, ValueError):
    """The generator cannot write what was asked (arguments, or an output folder already in use).

    Also a ValueError: library callers of generate_batch / generate_stream catch that.
    """


class MonitoringError(ClickstreamError):
    """A monitoring command cannot do what was asked (an empty history, a span that is not one)."""
