"""Hierarchical conditional VRNN (Castrejon, Ballas & Courville, ICCV 2019), re-implemented from the spec.

Modules, one job each:
  config.py   VrnnConfig, the paper-size configs per dataset (FULL) and the CPU-size TINY one
  nets.py     ResNet blocks, normalised ConvLSTM, init nets, frame encoder, prior / posterior level, renderer
  model.py    VRNN: the objective (ELBO with beta warm-up), the per-video negative ELBO, the step-wise sampler
  recipe.py   what `vbench train` needs: config, model, optimiser
  adapter.py  HierVrnn, Vrnn1L: the VideoModel adapters `vbench run` calls
"""
