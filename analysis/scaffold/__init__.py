"""Templates of the files ``python -m analysis new`` writes (``string.Template``, ``$name``).

``study.py.tmpl`` and ``survival.py.tmpl`` make the analysis script; the ``*.j2.tmpl`` files
make the manuscript templates of ``templates/<study>/``.
"""
