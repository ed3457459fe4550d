from labs.common.runctx import RunContext, SettingError, write_json_atomic

__all__ = ["RunContext", "SettingError", "write_json_atomic"]
