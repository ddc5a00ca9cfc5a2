import json
import os
import sys

import tifffile
import torch

from napari_isorecon.core import TrainConfig
from napari_isorecon.core.checks.metrics import axial_scores
from napari_isorecon.core.inference.reconstruct import reconstruct, run_to_end
from napari_isorecon.core.model.iso_model import IsoModel
from napari_isorecon.core.networks.backbones import build_backbone
from napari_isorecon.core.settings.config import LossWeights
from napari_isorecon.core.training.sections import degrade_volume
from napari_isorecon.core.training.train import train_to_end

mode = sys.argv[1]
s1 = int(sys.argv[2])
s2 = int(sys.argv[3])
if mode == 'fresh':
    IsoModel.new_reconstructor = lambda self: build_backbone(self.config.backbone, self.config.z_factor, self.config.channels, self.config.blocks)
iso = tifffile.imread(os.environ.get('ISORECON_FIBSEM', '../shared/data/fibsem_medulla_iso10nm_250.tif'))
lr = degrade_volume(iso, 10, 'cubic')
cfg = TrainConfig(z_factor=10, steps=s1+s2, minutes=None, stage2_fraction=s2/(s1+s2),
                  # as measured before the kernel prior and kernel-path pairs
                  stage2_pairs='full', weights=LossWeights(kernel_smooth=0.0))
m = train_to_end(lr, cfg)
sc = axial_scores(run_to_end(reconstruct(lr, m)).volume, iso)
torch.save(m.g_hl.state_dict(), f'ghl_{mode}_{s1}.pt')
print(json.dumps({'mode': mode, 's1': s1, 's2': s2, 'xz': sc['xz'], 'yz': sc['yz'], 'elapsed': m.state.elapsed}))
