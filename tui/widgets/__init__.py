"""Widgets the screens compose: question tree and panel, profile form, case table, bars."""
