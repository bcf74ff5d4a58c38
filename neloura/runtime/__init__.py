"""Stateful machinery: image cache, job registry, cleanup worker, file store."""
