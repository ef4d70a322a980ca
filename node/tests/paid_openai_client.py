"""Paid requests through the official OpenAI Python client (issue 15, acceptance 3).

Usage: paid_openai_client.py BASE_URL PLAN_JSON. The plan names the model and a list of cases,
each a question, `max_tokens`, a voucher (or none) sent as the `X-Provena-Voucher` header
(`extra_headers`) or the `provena.voucher` body field (`extra_body`), and the status expected.
For each case the worker's `/metrics` are read before and after: a refused request must not
have reached the engine (`provena_worker_requests_total` unchanged). Prints one JSON object,
case name → what came back; every check is an assert, so a failure exits non-zero with the reason.
"""
import json
import re
import sys
import urllib.request

import openai

base_url, plan_path = sys.argv[1], sys.argv[2]
plan = json.load(open(plan_path))
client = openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0, timeout=120)


def admitted():
    """Requests the engine was given, over all models."""
    text = urllib.request.urlopen(base_url + "/metrics", timeout=30).read().decode()
    return sum(float(v) for v in re.findall(r"^provena_worker_requests_total\{[^}]*\} (\S+)$", text, re.M))


seen = {}
for case in plan["cases"]:
    kwargs = dict(
        model=plan["model"],
        messages=[{"role": "user", "content": case["question"]}],
        max_tokens=case["max_tokens"],
        temperature=0,
    )
    voucher = case.get("voucher")
    if voucher is not None and case["via"] == "header":
        kwargs["extra_headers"] = {"X-Provena-Voucher": json.dumps(voucher)}
    elif voucher is not None:
        kwargs["extra_body"] = {"provena": {"voucher": voucher}}
    before = admitted()
    try:
        r = client.chat.completions.create(**kwargs)
        out = {
            "status": 200,
            "content": r.choices[0].message.content,
            "usage": {"prompt_tokens": r.usage.prompt_tokens, "completion_tokens": r.usage.completion_tokens},
            "provena": r.model_extra["provena"],
        }
    except openai.APIStatusError as e:
        out = {"status": e.status_code, "error": e.body}
    out["admitted"] = admitted() - before
    assert out["status"] == case["expect"], (case["name"], out)
    if case["expect"] == 402:
        assert out["admitted"] == 0, ("a refused request reached the engine", case["name"], out)
        assert out["error"]["type"] == case["reason"], (case["name"], out)
    else:
        assert out["admitted"] == 1, (case["name"], out)
    seen[case["name"]] = out
print(json.dumps(seen))
