"""Classroom mode: lesson sets, class sessions with join codes, guesses before the reveal, class
results, the clue glossary and printable handouts, in English and Simplified Chinese.

    from demo.classroom import add_classroom
    from demo.labels import i18n
    classroom = add_classroom(demo, app)          # the page at /classroom
    demo.launch(**launch_options(config), i18n=i18n())

See docs/classroom.md.
"""

from ..service.classroom import Classroom
from .page import ROUTE_PATH, add_classroom, build_classroom

__all__ = ["ROUTE_PATH", "Classroom", "add_classroom", "build_classroom"]
