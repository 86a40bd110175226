"""The hall domain: cases, time limits, dispatch, stations, and the audit log."""
