from studytui.store.store import DamagedDatabase, ForeignDatabase, Progress, Store, StoreError, latest_backup

__all__ = ["DamagedDatabase", "ForeignDatabase", "Progress", "Store", "StoreError", "latest_backup"]
