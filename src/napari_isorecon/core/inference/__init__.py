"""Inference: whole-volume and blockwise reconstruction, slice fusion, test-time-augmentation uncertainty."""
