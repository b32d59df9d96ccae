"""IM robot backends: the Meta contract (``meta``) and one package per Type."""
