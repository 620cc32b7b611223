"""Read models: bulk frames and tallies for statistics, the case list, progress, QA, analysis."""
