"""Worked solutions to the exercises in notebooks 02-06, as importable modules.

Each module holds the functions a learner writes, in the plain-loop style of the lessons.
``tests/test_exercises.py`` runs every solution through its checker in ``poolviz.exercises``.
"""
