"""Code generators: one printer loop (``base``) and a thin table of spellings per backend."""
