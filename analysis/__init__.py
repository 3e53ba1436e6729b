"""pandas + seaborn side of polylab: load a results set, tidy it, draw figures, judge claims, write reports."""
