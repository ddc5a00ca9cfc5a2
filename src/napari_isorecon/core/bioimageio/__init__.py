"""bioimage.io export: the TorchScript network, the model package, its documentation and cover images."""
