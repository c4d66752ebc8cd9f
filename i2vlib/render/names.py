"""The arms of the experiment's tables in words, as figures and tables show them to a reader (the code names, e.g.
``no_local_d``, stay in the code and the records)."""

from __future__ import annotations

from ..protocol.tables import ARMS as _TABLE_ARMS
from ..protocol.tables import POOLED

_FRGAN = {"forecast": "G_M", "paper_weights": "G_M, Eq. 4 as printed",
          "code_weights": "G_M, the released code's weights", "plain": "G_M, plain decoder", "plain_wide": "G_M, plain decoder as wide as the dense one",
          "difference": "G_M, Eq. 1's difference image", "no_residual": "G_M without residual motion",
          "first_source": "G_M, always from frame 0", "refine": "G_M + G_R (the full model)",
          "refine_no_d_i": "G_M + G_R without D_I"}
_BASELINES = {"fan": "Fan et al.", "affinegan": "AffineGAN", "convlstm": "ConvLSTM", "hp": "HP", "vgan": "VideoGAN",
              "fgst": "FGST", "fgst_book": "FGST (the book's first reading)", "ganimation": "GANimation",
              "frgan": "FRGAN (G_M + G_R)", "frgan_gm": "FRGAN's G_M alone", "villegas": "Villegas et al.",
              "mcnet": "MCNet", "mocogan": "MoCoGAN", "mathieu": "Mathieu et al.",
              "vgan_jumping_jacks": "VGAN (jumping jacks model)", "vgan_tennis_forehand": "VGAN (tennis forehand model)"}
ARM_WORDS = {
    "affinegan": {"full": "AffineGAN", "mlp": "an MLP in place of Eq. 5", "no_loss_on_a": "without the loss on a",
                  "bottleneck": "mixed at the bottleneck only", "public_code": "the released code's Eq. 5",
                  "disordered": "AffineGAN, disordered videos",
                  "fan_disordered": "Fan et al., disordered videos, position labels",
                  "fan_disordered_true": "Fan et al., disordered videos, true labels", "convlstm": "ConvLSTM"},
    "fan": {"full": "Fan et al.", "no_local_d": "without the local discriminator",
            "no_landmarks": "without landmark prediction", "no_rt": "without the temporal regulariser R_t",
            "joint": "one joint model of three expressions", "disordered": "Fan et al., disordered clips",
            "convlstm": "ConvLSTM"},
    "frgan": _FRGAN,
    "frgan-pose": {**{k: v for k, v in _FRGAN.items() if k in _TABLE_ARMS["frgan-pose"]},
                   "no_feat": "G_M without Eq. 15's feature loss"},
    **{table: {arm: _BASELINES[arm] for arm in [*arms, *POOLED.get(table, {})]}
       for table, arms in _TABLE_ARMS.items() if table.endswith("-baselines")},
}


def arm_name(table: str, arm: str) -> str:
    """``arm`` of ``table`` in words (:data:`ARM_WORDS`), e.g. ``arm_name("fan", "no_local_d")`` is "without the local
    discriminator"."""
    return ARM_WORDS[table][arm]
