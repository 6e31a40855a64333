"""VGAN (Vondrick, Pirsiavash & Torralba, NeurIPS 2016) and its conditional variant, re-implemented from the spec.

Modules, one job each:
  config.py   VganConfig, the paper-size configs (FULL) and the CPU-size TINY ones
  nets.py     two-stream generators (unconditional, conditional with an image encoder), 3D discriminator
  model.py    VGAN: the GAN objective (D and G losses, mask / first-frame L1) and generation
  recipe.py   what `vbench train` needs: config, model, the two optimisers and the alternating step
  adapter.py  VganCond (prediction, `vgan_cond`) and Vgan (unconditional generation, `vgan`)
"""
