"""The driftwarden dashboard (Streamlit): ``streamlit run dashboard/app.py``.

``app.py`` is the entry point (login gate + ``st.navigation``); ``views/`` holds one module per page (not
``pages/``: see its docstring). Pages only lay out widgets: data comes from :mod:`dashboard.data` (cached
wrappers of :mod:`monitor.store.queries`), figures from :mod:`dashboard.charts`, sentences and derived
numbers from :mod:`dashboard.summaries`, and alert changes go through :mod:`dashboard.actions` (the
monitor's ``AlertService``).
"""
