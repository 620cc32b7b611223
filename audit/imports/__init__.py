"""Bringing files in: reading CSV and XLSX, locating problems, parsing cells, cases and ratings."""
