import os
import sys, json, numpy as np, tifffile, torch, time
from napari_isorecon.core import TrainConfig
from napari_isorecon.core.networks import AxialDegradation
from napari_isorecon.core import train as T
from napari_isorecon.core.reconstruct import reconstruct, run_to_end
from napari_isorecon.core.degradation import degrade_volume, degrade_slices
from napari_isorecon.core.evaluate import axial_scores
mode = sys.argv[1]; steps = int(sys.argv[2])
iso = tifffile.imread(os.environ.get('ISORECON_FIBSEM', '../shared/data/fibsem_medulla_iso10nm_250.tif'))
lr = degrade_volume(iso, 10, 'cubic')
g = AxialDegradation(10, 16, 2); g.load_state_dict(torch.load('ghl_glh_500.pt')); g.eval()
if mode == 'main':
    g.residual = None
# monkeypatch the degradation "cubic" to our g
import napari_isorecon.core.degradation as D
orig = D.degrade_slices
if mode != 'oracle':
    D.degrade_slices = lambda hr, f, kind, rows=None: g(hr, rows)
cfg = TrainConfig(z_factor=10, steps=steps, minutes=None)
t0=time.time()
m = T.train_model(lr, cfg) if False else None
last=None
for ev in T.train(lr, cfg, degradation='cubic'): last=ev
m = last.model
sc = axial_scores(run_to_end(reconstruct(lr, m)).volume, iso)
print(json.dumps({'mode': mode, 'steps': steps, 'xz': round(sc['xz']['psnr'],3), 'yz': round(sc['yz']['psnr'],3), 'ssim': round(sc['xz']['ssim'],4), 't': round(time.time()-t0,1)}))
