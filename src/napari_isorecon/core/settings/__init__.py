"""Settings: the training and reconstruction configs with their presets, the z-factor rules, the device."""
