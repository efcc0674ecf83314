"""`python -m bench`: wall-clock benchmark of `chunked_work_job` under several executors."""
