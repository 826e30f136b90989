"""Using a trained model: LiteRT variants gated on the selection set (``conversion``), a text-in SavedModel and the
host tokenizer (``serving``), loading any artifact to run it (``artifact``), and the ``prunelab`` command (``cli``)."""
