"""Checks on a result: the hidden-section check and its report, the learned-kernel summary, image metrics."""
