"""MVAE video prediction (`mvae`) and its learned-similarity variant (`mvae_gan`), from
`shared/design/seed-systems.md` §1 (after Wu & Goodman 2018 and Larsen et al. 2016).

Modules, one job each:
  config.py    MvaeConfig, the paper-size config (FULL) and the CPU-size TINY one
  nets.py      the frame decoder from z and the frame discriminator (encoders and LSTMs come from svg/nets.py)
  model.py     the product of experts (pure functions), the objectives and the closed-loop sampler
  recipe.py    what `vbench train` needs: config, model, optimisers and the update
  adapter.py   Mvae, MvaeGan: the VideoModel adapters `vbench run` calls
  analysis.py  the sharpness measure behind the README's comparison of the two
"""
