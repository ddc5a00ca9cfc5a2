"""The methods the bench scores: interpolations (run once), hand-made-degradation baselines, the oracle (the
true degradation) and ours (the learned one); every method but the interpolations is trained."""

INTERPOLATIONS = ("linear", "cubic")
HANDMADE = ("take", "take_centred", "gaussian", "gaussian_centred")
METHODS = INTERPOLATIONS + HANDMADE + ("oracle", "ours", "ours_stage2")
