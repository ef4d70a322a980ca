"""llama.cpp as an external engine for `fidelity-bench` (see its docs).

Usage: PYTHONPATH=<dir with llama_cpp> python3 llama_cpp_fidelity.py MODEL.gguf CTX
Reads windows of token ids on stdin (one JSON array per line, CTX tokens each) and writes, for
each, the logits of rows CTX/2 - 1 .. CTX - 2 (the rows that predict the second half) as
little-endian float32 on stdout. No BOS is added: every engine sees the same ids.

  python3 llama_cpp_fidelity.py --requantize IN.gguf OUT.gguf q8_0
writes IN re-quantized by llama.cpp (its own Q8_0 path) for comparison.
"""
import json
import os
import sys

import numpy as np
import llama_cpp
from llama_cpp import Llama

if sys.argv[1] == "--requantize":
    src, dst, kind = sys.argv[2], sys.argv[3], sys.argv[4]
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = {"q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0}[kind]
    params.allow_requantize = True
    params.nthread = os.cpu_count()
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
    sys.exit(rc)

model, ctx = sys.argv[1], int(sys.argv[2])
llm = Llama(model_path=model, n_ctx=ctx, n_batch=ctx, n_ubatch=ctx, logits_all=True,
            n_threads=os.cpu_count(), verbose=False)
out = sys.stdout.buffer
for line in sys.stdin:
    tokens = json.loads(line)
    llm.reset()
    llm.eval(tokens)
    rows = np.asarray(llm.scores[ctx // 2 - 1: ctx - 1], dtype="<f4")
    out.write(rows.tobytes())
    out.flush()
