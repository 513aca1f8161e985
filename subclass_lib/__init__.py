"""subclass_lib: the small library behind the book on knowledge distillation.

Modules, top to bottom (arrows point one way):
``data`` -> ``models`` -> ``losses`` -> ``train`` -> ``metrics`` -> ``experiments`` -> ``plots`` -> ``widgets``.
"""

__version__ = "0.1.0"
