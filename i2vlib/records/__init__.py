"""The records: the one engine of every experiment the book records, and what was measured of the runs behind the
book, so that a build reads it instead of training them.

``make zoo`` (:mod:`.make_zoo`) trains, scores and exports the zoo's models; :mod:`.store` is load-or-measure, one
file per recorded run (``recorded/`` beside it for the comparisons), keyed by its config hash; :mod:`.study` runs the
recipe studies declared in :mod:`i2vlib.studies` on the same store (scored snapshots, one file per run);
:mod:`.comparisons` declares the papers' comparison tables (arms,
seeds, budget ladder) and :mod:`.ablations` turns them into configs, measurements and recording jobs
(``make records``, run on a job engine by :mod:`.engine`); :mod:`.verify` trains a few recorded runs again
(``make verify-records``); :mod:`.origin` says
where a chapter's model came from; :mod:`.verdicts` judges every claim from the records (``i2v claims``).
"""
