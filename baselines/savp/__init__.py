"""SAVP (Lee et al., "Stochastic Adversarial Video Prediction", 2018) and its ablations, re-implemented from the spec.

Modules, one job each:
  config.py   SavpConfig, the paper-size configs (FULL, per dataset and variant) and the CPU-size TINY ones
  nets.py     ConvLSTM, the recurrent U-Net generator with its CDNA / DNA / flow head, the posterior encoder,
              the spectral-norm 3D video discriminator
  model.py    SAVP: schedules, the two generator passes, the losses (L1 / L2, KL, LSGAN, feature matching), generation
  recipe.py   what `vbench train` needs: config, model, optimisers and the D-then-G step
  adapter.py  SavpDet, SavpVae, SavpGan, Savp (`savp_det`, `savp_vae`, `savp_gan`, `savp`)
"""
