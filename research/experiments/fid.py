import json
import os
import sys

import tifffile
import torch

from napari_isorecon.core import TrainConfig
from napari_isorecon.core.checks.metrics import image_scores
from napari_isorecon.core.settings.config import LossWeights
from napari_isorecon.core.training.sections import degrade_slices, degrade_volume
from napari_isorecon.core.training.train import train

f = float(sys.argv[1])
steps = int(sys.argv[2])
extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
w = extra.pop('weights', {})
iso = tifffile.imread(os.environ.get('ISORECON_FIBSEM', '../shared/data/fibsem_medulla_iso10nm_250.tif'))
lr = degrade_volume(iso, f, 'cubic')
Z = lr.shape[0]
# measured before the kernel prior: kernel_smooth 0 unless given
cfg = TrainConfig(z_factor=f, steps=steps, minutes=None, stage2_pairs="kernel", stage2_fraction=0.0,
                  weights=LossWeights(**{'kernel_smooth': 0.0, **w}), **extra)
hr = None
for ev in train(lr, cfg):
    if type(ev).__name__ == 'TrainStep' and ev.step % (steps//5) == 0:
        m = None
    last = ev
model = last.model
norm = model.normalizer
rows = int(lr.shape[1] // f)
hrr = int(round(rows*f))
x = torch.from_numpy(norm.to_unit(lr[:, :hrr, :]))[:, None]
with torch.no_grad():
    fake = model.g_hl(x, rows)
    true = degrade_slices(x, f, 'cubic', rows)
print(json.dumps({'steps': steps, 'w': w, 'extra': extra, 'train_s': round(last.elapsed,1), 'fid': image_scores(fake[:,0].numpy(), true[:,0].numpy(), 255/(norm.high-norm.low)),
 'kernel': [round(v,3) for v in model.g_hl.axial_kernel().detach().tolist()[10:31]]}))
