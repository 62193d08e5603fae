"""The recurrent actor-critic (``actor_critic``) and its parts, one module each: the input φ
(``inputs``), observation encoders (``encoders``), recurrent cores and the GRU kernel (``cores``),
heads and action distributions (``heads``), and normalizers (``normalizers``)."""

from rl2.policy.actor_critic import RecurrentActorCritic
from rl2.policy.cores import GRU_KERNELS, GRUKernel, RecurrentState, make_core, run_core
from rl2.policy.encoders import ConvEncoder, FrameEncoder, ImageEncoder, make_encoder
from rl2.policy.heads import (categorical_sample, categorical_stats, gaussian_sample, gaussian_stats, sample_actions,
                              torso)
from rl2.policy.inputs import rl2_inputs, scale_pixels
from rl2.policy.normalizers import InputNormalizer, ValueNormalizer

__all__ = [
    "GRU_KERNELS", "ConvEncoder", "FrameEncoder", "GRUKernel", "ImageEncoder", "InputNormalizer",
    "RecurrentActorCritic", "RecurrentState", "ValueNormalizer", "categorical_sample", "categorical_stats",
    "gaussian_sample", "gaussian_stats", "make_core", "make_encoder", "rl2_inputs", "run_core", "sample_actions",
    "scale_pixels", "torso",
]
