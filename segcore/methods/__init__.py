"""One module per segmentation method; each exposes one function registered in
:mod:`segcore.registry` and is called through :func:`segcore.segment`."""
