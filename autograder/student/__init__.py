"""The student's side: what runs in the student's own kernel (the visible check) and ``make lab``."""
