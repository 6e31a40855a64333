"""The bundled models: one table from which `vbench run`, `vbench train`, `vbench ls models` and the
command-line help all read.

Adding a baseline is its package under `baselines/` (adapter, and a recipe if it trains) plus one
entry here. Targets are "module:attribute" strings, imported only when the model is used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BundledModel:
    adapter: str                 # "module:Class" that `vbench run` scores (the adapter contract)
    recipe: str | None           # "module:object" that `vbench train` trains, None for a fixed rule
    task: str                    # "prediction" (from context) or "generation" (unconditional)
    about: str                   # one line for `vbench ls models`


BUNDLED: dict[str, BundledModel] = {
    "copy_last": BundledModel("baselines.trivial:CopyLast", None, "prediction",
                              "floor: repeats the last context frame"),
    "noisy_copy_last": BundledModel("baselines.trivial:NoisyCopyLast", None, "prediction",
                                    "floor: the last context frame plus Gaussian noise (sigma)"),
    "smmnist_simulator": BundledModel("baselines.trivial:SmmnistSimulator", None, "generation",
                                      "floor of SM-MNIST generation suites: the data simulator itself"),
    "svg_det": BundledModel("baselines.svg.adapter:SvgDet", "baselines.svg.recipe:SVG_DET", "prediction",
                            "SVG, deterministic (Denton & Fergus 2018)"),
    "svg_fp": BundledModel("baselines.svg.adapter:SvgFP", "baselines.svg.recipe:SVG_FP", "prediction",
                           "SVG with a fixed prior (Denton & Fergus 2018)"),
    "svg_lp": BundledModel("baselines.svg.adapter:SvgLP", "baselines.svg.recipe:SVG_LP", "prediction",
                           "SVG with a learned prior (Denton & Fergus 2018)"),
    "hier_vrnn": BundledModel("baselines.vrnn.adapter:HierVrnn", "baselines.vrnn.recipe:HIER_VRNN", "prediction",
                              "hierarchical conditional VRNN (Castrejon et al. 2019)"),
    "vrnn_1l": BundledModel("baselines.vrnn.adapter:Vrnn1L", "baselines.vrnn.recipe:VRNN_1L", "prediction",
                            "one-level conditional VRNN (Castrejon et al. 2019)"),
    "vrnn_gan": BundledModel("baselines.vrnn_gan.adapter:VrnnGanAdapter", "baselines.vrnn_gan.recipe:VRNN_GAN",
                             "prediction", "VRNN-GAN: the hier_vrnn decoder as a GAN generator, 2D+3D discriminator"),
    "vgan": BundledModel("baselines.vgan.adapter:Vgan", "baselines.vgan.recipe:VGAN_UNCOND", "generation",
                         "VGAN, two-stream video GAN, unconditional (Vondrick et al. 2016)"),
    "vgan_cond": BundledModel("baselines.vgan.adapter:VganCond", "baselines.vgan.recipe:VGAN_COND", "prediction",
                              "VGAN conditioned on the context (Vondrick et al. 2016)"),
    "savp_det": BundledModel("baselines.savp.adapter:SavpDet", "baselines.savp.recipe:SAVP_DET", "prediction",
                             "SAVP, deterministic (Lee et al. 2018)"),
    "savp_vae": BundledModel("baselines.savp.adapter:SavpVae", "baselines.savp.recipe:SAVP_VAE", "prediction",
                             "SAVP, VAE only (Lee et al. 2018)"),
    "savp_gan": BundledModel("baselines.savp.adapter:SavpGan", "baselines.savp.recipe:SAVP_GAN", "prediction",
                             "SAVP, GAN only (Lee et al. 2018)"),
    "savp": BundledModel("baselines.savp.adapter:Savp", "baselines.savp.recipe:SAVP", "prediction",
                         "SAVP, VAE + GAN (Lee et al. 2018)"),
    "mvae": BundledModel("baselines.mvae.adapter:Mvae", "baselines.mvae.recipe:MVAE_VAE", "prediction",
                         "MVAE, product of experts over previous and current frame (Wu & Goodman 2018)"),
    "mvae_gan": BundledModel("baselines.mvae.adapter:MvaeGan", "baselines.mvae.recipe:MVAE_GAN", "prediction",
                             "MVAE with VAE-GAN's learned similarity (Larsen et al. 2016)"),
    "vglann": BundledModel("baselines.vglann.adapter:Vglann", "baselines.vglann.recipe:VGLANN", "generation",
                           "VGLANN: GLO + IMLE video synthesis, unconditional"),
}


def trainable() -> list[str]:
    """Names `vbench train` accepts, sorted."""
    return sorted(name for name, model in BUNDLED.items() if model.recipe)
