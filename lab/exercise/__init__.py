"""Exercises: a starting situation made by faults, a goal, a time limit, hints, and the
chapter's procedure to grade the trainee against, from what the servers saw.  The file
format is documented in docs/exercises.md; built-in exercises are in ``builtin/``;
``grading`` is the pure grader, ``runner`` runs one on a trainer lab, ``cli`` is
``ipics-lab exercise list | run NAME``."""

from ipics_lab.exercise.loader import ExerciseError, builtin_names, load_exercise, parse_exercise
from ipics_lab.exercise.model import Exercise

__all__ = ["Exercise", "ExerciseError", "builtin_names", "load_exercise", "parse_exercise"]
