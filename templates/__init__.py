"""Data, not code: form specs and templates, shipped inside xltool as `xltool.templates`
(see pyproject.toml's package-dir) and read with importlib.resources (xltool/resources.py)."""
