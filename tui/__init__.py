"""The iom-audit terminal app (Textual): one screen per task, above the audit domain."""
