"""avzoo.synth: the synthetic audio-visual corpus."""
