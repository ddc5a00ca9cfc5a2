"""Training: the two-stage loop, patch sampling, pixel noise and the simulated serial sections."""
