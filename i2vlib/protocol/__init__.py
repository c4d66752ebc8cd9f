"""Protocol v2: the experiment declared once, as data, and hashed.

:mod:`.tables` declares every table's arms with their roles and recipes, budgets, ladders and the rounds' seeds;
:mod:`.references` the model-free references and :mod:`.gates` the gates of each role, whose bounds come from them;
:mod:`.measures` the measures that score a table's runs. The claims (:mod:`i2vlib.claims`) name the tables' arms in
their measurements, and :mod:`i2vlib.claims.declaration` gathers all of it into one declaration whose hash is the
protocol id.
"""
