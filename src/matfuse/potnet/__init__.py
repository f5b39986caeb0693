"""Structure embeddings: our PotNet (periodic potential sums, PyG) and pretrained CHGNet features."""

from matfuse.potnet.embed import DESCRIPTIONS, METHODS, EmbeddingSettings, embed_structures, potnet_embeddings

__all__ = ["DESCRIPTIONS", "METHODS", "EmbeddingSettings", "embed_structures", "potnet_embeddings"]
