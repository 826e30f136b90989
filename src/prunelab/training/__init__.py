"""Fine-tuning (``fine_tune``): the baseline's and every recovery's, with its optimizer (``lazy_adam``), the teacher it
distils from (``teacher``) and its speed against the CPU's roofline (``throughput``, ``make bench``)."""
