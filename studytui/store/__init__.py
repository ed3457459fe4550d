from studytui.store.store import (
    DamagedDatabase,
    DuplicateReading,
    ForeignDatabase,
    Progress,
    Store,
    StoreError,
    latest_backup,
)

__all__ = [
    "DamagedDatabase",
    "DuplicateReading",
    "ForeignDatabase",
    "Progress",
    "Store",
    "StoreError",
    "latest_backup",
]
