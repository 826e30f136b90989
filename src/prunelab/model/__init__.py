"""The model: the checkpoint and the names of its weights (``checkpoint``), its SavedModel (``export``), its FLOPs
(``flops``)."""
