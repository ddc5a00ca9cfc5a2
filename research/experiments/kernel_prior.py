"""Stage 1 alone for N steps, then the fidelity of the learned degradation (research/log.md, "kernel prior").

    python research/experiments/kernel_prior.py F STEPS '{"kernel_smooth": 3e-4}' [OUT.pt]

Options (JSON): any LossWeights field (``kernel_smooth`` is the scale-free smoothness weight, 0 = off), plus
``cycle_lr`` (weight of the LR cycle term alone; default: the cycle weight) and ``residual_l1`` (an L1 penalty
on G_hl's residual branch output). Prints the fidelity (PSNR against the true cubic degradation of the
input's xy slices) of the whole G_hl and of its kernel path alone, and the learned kernel; saves G_hl's
weights to OUT.pt for ``s2.py``.
"""
import json
import os
import sys

import tifffile
import torch

from napari_isorecon.core import TrainConfig
from napari_isorecon.core.checks.metrics import image_scores
from napari_isorecon.core.networks import losses
from napari_isorecon.core.settings.config import LossWeights
from napari_isorecon.core.training import train as T
from napari_isorecon.core.training.sections import degrade_slices, degrade_volume

f, steps = float(sys.argv[1]), int(sys.argv[2])
options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
out = sys.argv[4] if len(sys.argv) > 4 else None
cycle_lr, residual_l1 = options.pop("cycle_lr", None), options.pop("residual_l1", 0.0)
weights = LossWeights(**{"kernel_smooth": 0.0, **options})

step_functions = T.TrainingSteps()
if cycle_lr is not None or residual_l1:
    def cycle_step(model, opts, hr, lr, cfg, noise=None):  # the engine's step with the two extra knobs
        g_hl, g_lh, d_l, d_h = (model.networks[k] for k in ("g_hl", "g_lh", "d_l", "d_h"))
        w = cfg.weights
        for p in list(d_l.parameters()) + list(d_h.parameters()):
            p.requires_grad_(False)
        fake_lr, fake_hr = g_hl(hr, lr.shape[-2]), g_lh(lr, hr.shape[-2])
        residual = fake_lr - g_hl.kernel_path(hr, lr.shape[-2])
        loss = (w.adv_hl * losses.generator_adversarial(d_l(fake_lr))
                + w.adv_lh * losses.generator_adversarial(d_h(fake_hr))
                + (w.cycle if cycle_lr is None else cycle_lr) * losses.cycle(g_hl(fake_hr, lr.shape[-2]), lr)
                + w.cycle * losses.cycle(g_lh(fake_lr, hr.shape[-2]), hr)
                + w.mean * (losses.mean_preservation(fake_lr, hr) + losses.mean_preservation(fake_hr, lr))
                + w.kernel_smooth * losses.kernel_roughness(g_hl.axial_kernel(), g_hl.z_factor)
                + residual_l1 * residual.abs().mean())
        opts["g"].zero_grad(set_to_none=True)
        loss.backward()
        opts["g"].step()
        for p in list(d_l.parameters()) + list(d_h.parameters()):
            p.requires_grad_(True)
        loss_d = (losses.discriminator_adversarial(d_l(lr), d_l(fake_lr.detach()))
                  + losses.discriminator_adversarial(d_h(hr), d_h(fake_hr.detach())))
        opts["d"].zero_grad(set_to_none=True)
        loss_d.backward()
        opts["d"].step()
        return {"G": loss.item(), "D": loss_d.item()}
    step_functions = T.TrainingSteps(cycle=cycle_step)

iso = tifffile.imread(os.environ.get("ISORECON_FIBSEM", "../shared/data/fibsem_medulla_iso10nm_250.tif"))
lr = degrade_volume(iso, f, "cubic")
*_, finished = T.train(lr, TrainConfig(z_factor=f, steps=steps, minutes=None, stage2_pairs="kernel", stage2_fraction=0.0, weights=weights),
                      steps=step_functions)
model = finished.model
norm = model.normalizer
rows = int(lr.shape[1] // f)
x = torch.from_numpy(norm.to_unit(lr[:, :int(round(rows * f)), :]))[:, None]
with torch.no_grad():
    true = degrade_slices(x, f, "cubic", rows)
    fid = {name: round(image_scores(d(x, rows)[:, 0].numpy(), true[:, 0].numpy(), norm.unit_data_range())["psnr"], 2)
           for name, d in (("whole G_hl", model.g_hl), ("kernel path", model.g_hl.kernel_path))}
print(json.dumps({"z_factor": f, "steps": steps, "options": {**options, "cycle_lr": cycle_lr,
                  "residual_l1": residual_l1}, "fidelity_db": fid,
                  "kernel": [round(v, 3) for v in model.g_hl.axial_kernel().detach().tolist()]}))
if out:
    torch.save(model.g_hl.state_dict(), out)
