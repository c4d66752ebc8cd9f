"""The book's recipe studies, each declared on the study engine (:mod:`i2vlib.records.study`): its arms, seeds,
budget, snapshot steps, validation score and the rule fixed before its runs. Their records are one file per run in
:data:`RECORDED` beside this module.

* :mod:`.capacity` -- the critics' capacity per method;
* :mod:`.speckle` -- AffineGAN's speckle remedies;
* :mod:`.refine` -- G_R's adversarial weight;
* :mod:`.eq5` -- the features Eq. 5 projects;
* :mod:`.upsample` -- the decoder's upsampling.

Each runs from the command line as ``python -m i2vlib.studies.NAME [ARM ...]`` (:func:`i2vlib.records.study.run_study`).
"""

from pathlib import Path

RECORDED = Path(__file__).resolve().parent / "recorded"
