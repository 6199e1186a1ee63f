"""Evaluation: metrics computed over whole splits, and one evaluator per task that asks a model through the public
methods every model of that task has. Datasets hand out arrays and evaluation sets; they compute no metric."""
from .metrics import retrieval_metrics, regression_metrics, roc_auc, spearman
from .tasks import EVALUATORS, evaluator_for
from .words import analogy_score, nearest, similarity_score

__all__ = ["EVALUATORS", "evaluator_for", "retrieval_metrics", "regression_metrics", "roc_auc", "spearman",
           "analogy_score", "nearest", "similarity_score"]
