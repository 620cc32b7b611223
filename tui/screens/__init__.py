"""The app's screens, one per task; the app imports each when it is first shown."""
