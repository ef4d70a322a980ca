"""Drives a running worker with the official OpenAI Python client (acceptance 2).

Usage: openai_client.py BASE_URL BASE_MODEL ADAPTER_ID. Prints one JSON line with what it saw;
every check is an assert, so a failure exits non-zero with the reason.
"""
import json
import sys

import openai

base_url, base_model, adapter = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=120)
seen = {}

# Completions.
c = client.completions.create(model=base_model, prompt="The capital of France is", max_tokens=8, temperature=0)
assert c.object == "text_completion", c
assert c.choices[0].text.strip().startswith("Paris"), c.choices[0].text
assert c.usage.prompt_tokens > 0 and c.usage.completion_tokens == 8, c.usage
assert c.choices[0].finish_reason == "length"
seen["completion"] = c.choices[0].text

# Chat, with an adapter.
r = client.chat.completions.create(
    model=adapter,
    messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
    max_tokens=24,
    temperature=0,
)
assert r.object == "chat.completion"
msg = r.choices[0].message
assert msg.role == "assistant" and len(msg.content) > 0, msg
assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
extra = r.model_extra["provena"]
assert extra["adapters"][0]["id"] == adapter, extra
assert extra["completion_tokens"] == r.usage.completion_tokens
seen["chat"] = msg.content

# Chat, streamed: the deltas concatenate to the non-streamed answer.
stream = client.chat.completions.create(
    model=adapter,
    messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
    max_tokens=24,
    temperature=0,
    stream=True,
    stream_options={"include_usage": True},
)
parts, finish, usage = [], None, None
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        if choice.delta.content:
            parts.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason
assert "".join(parts) == msg.content, (parts, msg.content)
assert len(parts) > 1, "streaming must deliver more than one chunk"
assert finish == r.choices[0].finish_reason
assert usage is not None and usage.completion_tokens == r.usage.completion_tokens
seen["stream_chunks"] = len(parts)

# Completions, streamed, with a stop sequence and a seeded sampler.
text = ""
for chunk in client.completions.create(
    model=base_model, prompt="1, 2, 3, 4,", max_tokens=30, temperature=0.8, top_p=0.9, seed=7, stop=["8"], stream=True
):
    for choice in chunk.choices:
        text += choice.text
assert "8" not in text, text
seen["stream_completion"] = text

# A weighted mixture through extra_body.
m = client.chat.completions.create(
    model=base_model,
    messages=[{"role": "user", "content": "Say hello."}],
    max_tokens=8,
    temperature=0,
    extra_body={"adapters": [{"id": adapter, "weight": 0.5}]},
)
assert m.model_extra["provena"]["adapters"] == [{"id": adapter, "weight": 0.5}]

# Errors surface as the client's exception types.
try:
    client.chat.completions.create(model="0" * 64, messages=[{"role": "user", "content": "x"}])
    raise AssertionError("an unknown adapter must fail")
except openai.NotFoundError as e:
    seen["not_found"] = e.status_code
try:
    client.completions.create(model=base_model, prompt="x", temperature=7)
    raise AssertionError("temperature 7 must fail")
except openai.UnprocessableEntityError as e:
    seen["invalid"] = e.status_code

models = client.models.list()
ids = [m.id for m in models.data]
assert adapter in ids, ids
# The base is listed under its own name, which works as `model` as well as the alias.
named = client.completions.create(model=ids[0], prompt="The capital of France is", max_tokens=8, temperature=0)
assert named.choices[0].text == seen["completion"], named
print(json.dumps(seen))
