"""Face and person models, one module per role, each role behind a small Protocol."""
