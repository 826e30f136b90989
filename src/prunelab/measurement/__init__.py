"""What a model costs and gains: accuracy and its intervals (``accuracy``), a SavedModel measured from disk
(``evaluation``), memory (``memory``), and every artifact timed side by side (``benchmark``)."""
