"""The baseline users would pick on CPU: llama.cpp (PyPI llama-cpp-python) on the same GGUF.

Usage: PYTHONPATH=<dir with llama_cpp> python3 llama_cpp_baseline.py MODEL.gguf
Prints JSON: prefill and single-stream greedy decode tokens/s, all cores (n_threads = 2 here).
"""
import json
import os
import sys
import time

from llama_cpp import Llama

model = sys.argv[1]
threads = os.cpu_count()
llm = Llama(model_path=model, n_ctx=2048, n_threads=threads, n_batch=512, verbose=False, seed=0)
prompt = "It was the best of times, it was the worst of times, it was the age of wisdom, " * 4
tokens = llm.tokenize(prompt.encode())
runs = []
for _ in range(3):
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    t1 = time.perf_counter()
    n = 64
    for _ in range(n):
        tok = llm.sample(temp=0.0)
        llm.eval([tok])
    t2 = time.perf_counter()
    runs.append({"prefill_tok_s": len(tokens) / (t1 - t0), "decode_tok_s": n / (t2 - t1)})
best = max(runs, key=lambda r: r["decode_tok_s"])
print(json.dumps({"engine": "llama.cpp (llama-cpp-python 0.3.16)", "threads": threads, "prompt_tokens": len(tokens), **best}))
