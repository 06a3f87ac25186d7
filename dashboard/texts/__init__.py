"""Per-area label tables (key -> (English, 简体中文)); dashboard/i18n.py merges every module here."""
