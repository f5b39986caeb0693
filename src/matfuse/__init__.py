"""matfuse: multimodal prediction of crystal properties (text, image, structure embedding)."""

__version__ = "0.1.0"
