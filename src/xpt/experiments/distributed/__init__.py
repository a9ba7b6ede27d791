"""The distributed queue: experiments run by workers on other machines, through Celery.

A second queue backend next to the local one (`.dvc/config`: `[queue] backend = celery`,
`broker = redis://host:6379/0`). Submitting (`submit.py`) keeps the local queue's
snapshot and queue.db row, pushes the snapshot to the git remote and its data to the
data remote, and sends one Celery task per experiment. A worker (`celery_worker.py`, started
by `xpt queue worker --broker URL`) clones or fetches the repository, runs the
experiment with the local executor, and pushes the experiment ref and its outputs
back. `task_status.py` mirrors task states and log tails into queue.db so `queue status`,
`logs`, `kill` and `remove` behave the same for both backends.

Nothing here imports Celery at module level except `tasks.py`: the CLI imports these
modules only when the distributed queue is in use.
"""
