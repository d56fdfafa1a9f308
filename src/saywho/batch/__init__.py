"""Batches: many files, resumable, on local worker processes or on a Ray cluster."""

from saywho.batch.inputs import BatchInputs, MediaFile, find_inputs
from saywho.batch.jobs import Job, Outcome
from saywho.batch.runner import BatchResult, run_batch

__all__ = ["BatchInputs", "BatchResult", "Job", "MediaFile", "Outcome", "find_inputs", "run_batch"]
