"""The numerical cross-check harness: data, trainers, batched sweeps, measurements, verdicts,
durable results and reports. It trains embeddings no formula has seen and compares what they
become with what the derivation predicts."""

from .crosscheck import CrossCheck, locate_threshold, measure, predict, verdict
from .data import digits_views, gaussian_views
from . import report
from .results import ResultsFile
from .sweep import default_plan, run
from .train import TrainConfig, train, train_free_batched, train_minibatch

__all__ = ["CrossCheck", "ResultsFile", "TrainConfig", "default_plan", "digits_views",
           "gaussian_views", "locate_threshold", "measure", "predict", "report", "run", "train",
           "train_free_batched", "train_minibatch", "verdict"]
