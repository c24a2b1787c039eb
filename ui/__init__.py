"""Streamlit building blocks shared by the pages: the current image, cached
method runs and the standard result display. No algorithms live here; every
computation is a call into :mod:`segcore`."""
