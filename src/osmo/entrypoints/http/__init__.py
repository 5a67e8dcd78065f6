"""The HTTP API, the web pages and the live feeds (SSE, webhooks) of ``osmo serve``. See docs/http.md."""
