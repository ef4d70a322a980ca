#!/usr/bin/env python3
"""Soak of the inference worker (issue 24, acceptance 3): mixed load for a fixed time against a
real worker on the real model — plain and streamed completions and chats, streams cancelled
mid-way, bursts past the queue (429s), adapter churn through the admin API (load, unload, pin,
unpin) — sampling the worker's resident memory. Passes when no request got a 5xx and the
resident memory at the end is within 10% of its level after warm-up.

Not part of CI (it runs for minutes). Standard library only.

    python3 inference-worker/soak/soak.py --minutes 10 \
        --worker ~/.cache/provena-target/release/provena-inference-worker --model $PROVENA_MODEL
"""
import argparse, http.client, json, os, random, re, socket, subprocess, sys, tempfile, threading, time

ADMIN = "soak-admin-key"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request(port, method, path, body=None, key=None, timeout=300):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def cancelled_stream(port, body):
    """Starts a stream, reads a little of it, then hangs up."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    payload = json.dumps(body).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
              + f"content-length: {len(payload)}\r\n\r\n".encode() + payload)
    got = b""
    status = 0
    while got.count(b"data:") < 2:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
        if not status and b"\r\n" in got:
            status = int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/1.1") else 0
            if status != 200:
                break  # refused (429): nothing to cancel
    s.close()
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", required=True)
    ap.add_argument("--model", default=os.environ.get("PROVENA_MODEL"))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--adapters", type=int, default=24)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="provena-soak-")
    store = os.path.join(tmp, "adapters")
    subprocess.run([args.worker, "synth-adapter", "--model", args.model, "--store", store,
                    "--count", str(args.adapters), "--seed", "500"], check=True, capture_output=True)
    ids = sorted(os.listdir(store))
    worker = subprocess.Popen(
        [args.worker, "serve", "--model", args.model, "--adapters-dir", store, "--port", "0",
         "--admin-key", ADMIN, "--max-batch", "8", "--max-queue", "6", "--device-slots", "4",
         "--host-cache-mb", "8",
         # The prefix cache grows to its budget by design (default: a quarter of the K/V
         # budget, gigabytes here); a small one fills during the warm-up, so that growth
         # after it would be a leak.
         "--prefix-cache-bytes", str(64 << 20)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    banner = worker.stdout.readline()
    port = int(re.search(r"http://[^:]+:(\d+)/", banner).group(1))
    deadline = time.time() + args.minutes * 60
    counts, lock = {}, threading.Lock()

    def note(kind, status):
        with lock:
            counts[(kind, status)] = counts.get((kind, status), 0) + 1

    prompts = ["The capital of France is", "Write a haiku about rivers.", "List three fruits.",
               "Explain photosynthesis briefly.", "1, 2, 3, 4,"]

    def client(seed):
        rnd = random.Random(seed)
        while time.time() < deadline:
            model = rnd.choice(["base"] + ids)
            prompt = rnd.choice(prompts)
            action = rnd.random()
            try:
                if action < 0.35:
                    st, _ = request(port, "POST", "/v1/completions",
                                    {"model": model, "prompt": prompt, "max_tokens": rnd.randint(4, 48),
                                     "temperature": rnd.choice([0, 0.8])})
                    note("completion", st)
                elif action < 0.6:
                    st, _ = request(port, "POST", "/v1/chat/completions",
                                    {"model": model, "messages": [{"role": "user", "content": prompt}],
                                     "max_tokens": rnd.randint(4, 48), "stream": True,
                                     "logprobs": rnd.random() < 0.3})
                    note("stream", st)
                elif action < 0.75:
                    st = cancelled_stream(port, {"model": model, "messages": [{"role": "user", "content": prompt}],
                                                 "max_tokens": 64, "stream": True})
                    note("cancelled", st)
                elif action < 0.85:
                    # A burst past the queue: some get 429.
                    threads = [threading.Thread(target=lambda: note("burst", request(
                        port, "POST", "/v1/completions",
                        {"model": "base", "prompt": prompt, "max_tokens": 8})[0])) for _ in range(10)]
                    [t.start() for t in threads]
                    [t.join() for t in threads]
                else:
                    act = rnd.choice(["load", "unload", "pin", "unpin"])
                    st, _ = request(port, "POST", f"/v1/adapters/{rnd.choice(ids)}/{act}", {}, key=ADMIN)
                    note("admin-" + act, st)
            except Exception as e:  # a dropped connection is a failure too
                note("exception:" + type(e).__name__, 0)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    [t.start() for t in threads]
    samples, start = [], time.time()
    while time.time() < deadline:
        samples.append((round(time.time() - start), rss_kib(worker.pid)))
        time.sleep(15)
    [t.join() for t in threads]
    samples.append((round(time.time() - start), rss_kib(worker.pid)))
    alive = worker.poll() is None
    worker.terminate()
    worker.wait(timeout=60)
    warm = next((r for t, r in samples if t >= 60), samples[0][1])
    end = samples[-1][1]
    server_errors = sum(n for (k, st), n in counts.items() if st >= 500 or st == 0)
    report = {
        "minutes": args.minutes,
        "requests": sum(counts.values()),
        "by_kind_and_status": {f"{k} {st}": n for (k, st), n in sorted(counts.items())},
        "rss_mib": {"after_warmup": round(warm / 1024, 1), "end": round(end / 1024, 1),
                    "max": round(max(r for _, r in samples) / 1024, 1)},
        "rss_samples_mib": [(t, round(r / 1024, 1)) for t, r in samples],
        "server_errors": server_errors,
        "worker_alive_at_end": alive,
    }
    print(json.dumps(report, indent=1))
    ok = alive and server_errors == 0 and end <= warm * 1.10
    print("SOAK", "PASSED" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
