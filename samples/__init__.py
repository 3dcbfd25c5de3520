"""Data, not code: the demo's roster and sample returns, shipped inside xltool as
`xltool.samples` (see pyproject.toml's package-dir) and read with importlib.resources."""
