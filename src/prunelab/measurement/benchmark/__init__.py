"""Every exported artifact timed side by side, with intervals a reader can trust.

Latency of the same graph differs between processes and drifts with the load other
programs put on the machine, so a comparison is only fair within one run: each
artifact lives in a long-lived worker process of its own (``workers``), the parent
runs many short rounds in which every artifact times the same inputs in a shuffled
order (``rounds``, ``inputs``), and the intervals resample whole rounds (``stats``),
so a slow moment weighs on every artifact of that round alike. ``machine`` records
how busy the rest of the machine was; ``results`` turns the timings into
``metrics/benchmark.json``; ``run`` ties the pieces together.
"""
