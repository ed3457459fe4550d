"""attention: from softmax(QK^T/sqrt(d))V written out to the fused kernels (FlashAttention).

    python -m labs.attention.run --out runs          # check, sweep (and maps with checkpoint=RUN)

Files, one idea each:
    manual.py   causal self-attention as in "Let's build GPT": the T x T matrix made explicit
    check.py    manual against torch's scaled_dot_product_attention: outputs, gradients, and
                on CUDA which fused backend (flash, memory-efficient, math) runs
    sweep.py    time and peak memory of both over sequence lengths: O(T^2) against O(T)
    maps.py     the attention pattern of one head of a GPT lab checkpoint over a prompt
    run.py      the lab process (docs/protocol.md)
"""
