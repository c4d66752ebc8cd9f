"""Faces: landmark backends, alignment and cropping, mouth masks, face embeddings."""
