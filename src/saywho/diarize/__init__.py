"""Speaker diarization: segmentation-3.0 local speakers, CAM++ embeddings, global clustering."""
