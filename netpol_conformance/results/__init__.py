"""What a run observed, as typed records, and the results file that keeps them: its writer, its
reader and schema, and the comparison of two runs. Pure: below the run, the upgrade gate and the
reports, which all read and write these records and nothing else."""
