"""Alert notifications through a transactional outbox.

- :mod:`.routes`: the configured routes, resolved and checked at start (:func:`resolve_routes`);
- :mod:`.grouping`: one persist's alert changes -> notification payloads (the replaceable grouping unit);
- :mod:`.outbox`: writes the notification rows in the transaction that changed the alerts;
- :mod:`.render`: the body each destination type receives;
- :mod:`.sender`: delivers pending rows at least once, with backoff, off the consuming thread.
"""
