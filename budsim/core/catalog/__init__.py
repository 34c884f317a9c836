"""Reference catalogs: GPUs and open model architectures, each figure with its public source."""
