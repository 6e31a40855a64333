"""VRNN-GAN (the thesis's adversarial video prediction with the hierarchical VRNN's decoder), from
`shared/design/seed-systems.md` §2; no public code exists.

Modules, one job each:
  config.py   VrnnGanConfig, the paper-faithful FULL config and the CPU-size TINY one
  nets.py     generator (the VRNN's encoder and renderer, imported, driven by an LSTM over z_t) and the
              2D-per-frame then 3D discriminator
  model.py    VrnnGan: the GAN objective (standard D loss, non-saturating G loss, optional L1) and sampling
  recipe.py   what `vbench train` needs: config, model, the two optimisers and the alternating step
  adapter.py  VrnnGanAdapter: the VideoModel adapter `vbench run` calls
"""
