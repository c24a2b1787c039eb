"""Tools for running the app outside pytest: the Streamlit server and page helpers (tests and bench/ share them)."""
