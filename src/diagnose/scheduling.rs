//! FailedScheduling and Karpenter scheduling message parsing.
