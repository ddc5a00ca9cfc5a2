"""The methods the bench scores: interpolations (run once), hand-made-degradation baselines, the oracle (the
true degradation) and ours: ``ours_stage2`` (the default settings: stage 2 on serial-section pairs; what the
hidden-section check, ``isorecon validate`` and ``bench --hidden-sections`` call "ours"), ``ours_learned`` (stage 2
on pairs from the degradation stage 1 learned, the paper's pipeline) and ``ours_g_lh`` (stage 1's G_lh alone;
the key "ours" in the older reports under research/bench); every method but the interpolations is trained."""

INTERPOLATIONS = ("linear", "cubic")
HANDMADE = ("take", "take_centred", "gaussian", "gaussian_centred")
LEARNED = ("ours_g_lh", "ours_learned")  # methods that learn the degradation whatever the default pairs are
METHODS = INTERPOLATIONS + HANDMADE + ("oracle", "ours_g_lh", "ours_stage2", "ours_learned")
# a name that is no bench method but that users try: what to use instead
HINTS = {"ours": "the default settings are 'ours_stage2' (what isorecon validate calls ours); stage 1's G_lh "
                 "alone is 'ours_g_lh'"}
