"""What the entry point hands the pages: the settings it built and the navigation targets."""

from __future__ import annotations

from typing import Any

import streamlit as st

from monitor.config.settings import Settings

_SETTINGS = "driftwarden.settings"
_PAGES = "driftwarden.pages"


def publish(settings: Settings, pages: dict[str, Any]) -> None:
    """Called by ``app.py`` on every run, before the page runs."""
    st.session_state[_SETTINGS] = settings
    st.session_state[_PAGES] = pages


def settings() -> Settings:
    value = st.session_state.get(_SETTINGS)
    if not isinstance(value, Settings):
        raise RuntimeError("dashboard pages run through dashboard/app.py (streamlit run dashboard/app.py)")
    return value


def page(name: str) -> Any:
    """The ``st.Page`` registered as ``name`` (``overview``, ``model``, ``alerts``, ``weekly``)."""
    return st.session_state[_PAGES][name]


def open_model(model: str) -> None:
    """Switch to the Model page showing ``model``."""
    st.session_state["model_page.model"] = model
    st.switch_page(page("model"))
