"""makemore: character-level language models that make up more names (Zero to Hero parts 1-5).

    python -m labs.makemore.run --out runs --set model=mlp     # the lab (see run.py)

Files, one idea each:
    data.py         names.txt, the 27-character vocabulary, the 80/10/10 split, context windows
    bigram.py       part 1: the bigram model by counting, and as a one-layer neural net
    mlp.py          part 2: Bengio et al. 2003 (embedding, tanh hidden layer)
    wavenet.py      part 5: the hierarchical model with hand-written Linear/BatchNorm1d/... layers
    diagnostics.py  part 3: activation and gradient histograms, update-to-data ratios
    sample.py       making up names from any of the models
    run.py          the lab process (docs/protocol.md)
"""
