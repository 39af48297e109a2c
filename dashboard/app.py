"""Entry point: ``streamlit run dashboard/app.py`` (reads ``DRIFTWARDEN_DATABASE_URL``; see monitor.config.settings).

Builds the settings, applies the optional login, then hands over to ``st.navigation``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repository root.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from dashboard import auth, context  # noqa: E402
from monitor.config.settings import Settings  # noqa: E402

st.set_page_config(page_title="driftwarden", page_icon="🛡️", layout="wide")

settings = Settings()
pages = {
    "overview": st.Page("views/overview.py", title="Overview", icon=":material/monitor_heart:", default=True),
    "model": st.Page("views/model.py", title="Model", icon=":material/insights:", url_path="model"),
    "alerts": st.Page("views/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
    "weekly": st.Page("views/weekly.py", title="Weekly", icon=":material/calendar_month:", url_path="weekly"),
    "deadletters": st.Page("views/deadletters.py", title="Dead letters", icon=":material/report:",
                           url_path="deadletters"),
}
context.publish(settings, pages)

if auth.allowed(settings):
    navigation = st.navigation(list(pages.values()))
    auth.sidebar_logout(settings)
    with st.sidebar:
        st.caption(f"Database: `{settings.database_url.split('@')[-1]}`  \nTimes are UTC.")
    navigation.run()
else:
    # The login is the only page until it succeeds (the real pages are not even registered).
    st.navigation([st.Page(lambda: auth.login_page(settings), title="Log in", url_path="login")],
                  position="hidden").run()
