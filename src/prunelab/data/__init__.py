"""SST-2: where it comes from and how its splits are drawn (``sst2``); tokenized and batched by length
(``batching``)."""
