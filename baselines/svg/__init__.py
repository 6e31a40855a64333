"""SVG (Denton & Fergus, ICML 2018) and its deterministic baseline, re-implemented from the spec.

Modules, one job each:
  config.py   SvgConfig, the paper-size configs per dataset (FULL) and the CPU-size TINY one
  nets.py     encoders / decoders (DCGAN, VGG) and the LSTMs (frame predictor, Gaussian posterior / prior)
  model.py    SVG: the training objective and the generation procedure (det, fp, lp)
  recipe.py   what `vbench train` needs: config, model, optimiser
  adapter.py  SvgDet, SvgFP, SvgLP: the VideoModel adapters `vbench run` calls
"""
