"""The dashboard's pages, registered with ``st.navigation`` in ``dashboard/app.py``.

Not named ``pages/``: Streamlit still treats a ``pages/`` folder next to the entry point as a v1
multipage app until the first ``st.navigation`` call, so the first deep link after a restart
(``/alerts`` from an alert notification) would run the page file without the entry point (no settings,
no login).
"""
