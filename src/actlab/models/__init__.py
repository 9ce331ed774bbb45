"""Models: architectures as text, initialisation, and the stacked many-model network."""
