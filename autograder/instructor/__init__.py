"""The instructor's commands (release, collect, autograde, feedback, export, reports, the demo, the edition)."""
