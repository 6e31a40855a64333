"""VGLANN ("Non-Adversarial Video Synthesis with Generative Latent Nearest Neighbors", Afrimi, after
GLANN by Hoshen, Li & Malik, CVPR 2019), re-implemented from the spec (`shared/design/baselines.md` §7).

GLO (one latent per training video, on the unit sphere, optimised jointly with VGAN's two-stream
generator, imported from `baselines/vgan/nets.py`) followed by a noise-to-latent mapper. Modules:
  config.py   VglannConfig, the paper-size config (FULL) and the CPU-size TINY one
  losses.py   the GLO reconstruction losses: Laplacian pyramid, VGG-16 perceptual, video perceptual, L1
  mappers.py  IMLE, VAE and GMM mappers and their fitting
  model.py    VGLANN: latents + generator + mapper, the GLO loss, sampling
  recipe.py   what `vbench train` needs (a fixed-pool recipe: GLO epochs, then the mapper fit)
  adapter.py  Vglann (`vglann`): unconditional generation
"""
