"""The Train widget's checks without ground truth: *Check on hidden sections* and *Compare on hidden sections*
(acquisitions compared), with the jobs both run."""
