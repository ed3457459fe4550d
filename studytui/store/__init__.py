from studytui.store.store import Progress, Store, StoreError

__all__ = ["Progress", "Store", "StoreError"]
