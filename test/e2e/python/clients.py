"""The official Python SDKs against the gateway: openai on the OpenAI routes and on anthropic/, gemini/
and azure/ models, anthropic on /v1/messages (plain, streamed, count_tokens, errors, a Gemini model). Prints one JSON line of findings
for test/e2e/python-sdk.test.ts to check. Usage: clients.py BASE_URL KEY"""
import json
import sys

import anthropic
import openai

base, key = sys.argv[1], sys.argv[2]
out = {}

oa = openai.OpenAI(api_key=key, base_url=base, max_retries=0)
r = oa.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hello there"}])
out["openai_text"] = r.choices[0].message.content
out["openai_usage"] = [r.usage.prompt_tokens, r.usage.completion_tokens]
text, usage = "", None
for chunk in oa.chat.completions.create(model="claude", messages=[{"role": "user", "content": "Hello there"}], stream=True, stream_options={"include_usage": True}):
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    if chunk.usage:
        usage = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens]
out["openai_to_claude_stream"] = [text, usage]
try:
    oa.chat.completions.create(model="claude", n=2, messages=[{"role": "user", "content": "hi"}])
except openai.BadRequestError as e:
    out["openai_bad_request_param"] = e.body.get("param") if isinstance(e.body, dict) else None

text, usage = "", None
for chunk in oa.chat.completions.create(model="gemini", messages=[{"role": "user", "content": "Hello there"}], stream=True, stream_options={"include_usage": True}):
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    if chunk.usage:
        usage = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens]
out["openai_to_gemini_stream"] = [text, usage]
tools = [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]
r = oa.chat.completions.create(model="gemini", messages=[{"role": "user", "content": "read [[tool-call]]"}], tools=tools)
out["openai_to_gemini_tool"] = [r.choices[0].finish_reason, r.choices[0].message.tool_calls[0].function.name]
e = oa.embeddings.create(model="gemini-embed", input=["one two", "three"], dimensions=4)
out["openai_to_gemini_embeddings"] = [len(e.data), len(e.data[0].embedding)]
try:
    oa.chat.completions.create(model="gemini", messages=[{"role": "user", "content": "x [[block-prompt]]"}])
except openai.BadRequestError as err:
    out["openai_to_gemini_blocked"] = "ContentPolicyViolationError" in str(err)
r = oa.chat.completions.create(model="azure-gpt", messages=[{"role": "user", "content": "Hello there"}])
out["openai_to_azure"] = [r.choices[0].message.content, r.usage.prompt_tokens]

# The Responses API: passed through to OpenAI, translated for Claude, whole and streamed, with a tool.
r = oa.responses.create(model="gpt-4o", input="Hello there")
out["responses_openai"] = [r.output_text, r.usage.input_tokens]
r = oa.responses.create(model="claude", input="Hello there", instructions="Be brief.")
out["responses_claude"] = [r.output_text, r.status, r.usage.output_tokens]
kinds, text = [], ""
for e in oa.responses.create(model="claude", input="Hello there", stream=True):
    kinds.append(e.type)
    if e.type == "response.output_text.delta":
        text += e.delta
out["responses_claude_stream"] = [text, kinds[0], kinds[-1]]
r = oa.responses.create(model="claude", input="weather? [[fixture:tool-use]]", tools=[{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}])
out["responses_claude_tool"] = [o.type for o in r.output]

an = anthropic.Anthropic(api_key=key, base_url=base, max_retries=0)
m = an.messages.create(model="gemini", max_tokens=100, messages=[{"role": "user", "content": "Hello there"}])
out["anthropic_to_gemini"] = [m.content[0].text, m.stop_reason, m.usage.output_tokens]
m = an.messages.create(model="claude", max_tokens=100, messages=[{"role": "user", "content": "Hello there"}])
out["anthropic_text"] = m.content[0].text
out["anthropic_usage"] = [m.usage.input_tokens, m.usage.output_tokens]
with an.messages.stream(model="gpt-4o", max_tokens=100, messages=[{"role": "user", "content": "Hello there"}]) as s:
    streamed = "".join(s.text_stream)
    final = s.get_final_message()
out["anthropic_to_gpt_stream"] = [streamed, final.stop_reason, final.usage.output_tokens]
out["count_tokens"] = an.messages.count_tokens(model="claude", messages=[{"role": "user", "content": "one two three"}]).input_tokens
try:
    anthropic.Anthropic(api_key="sk-wrong", base_url=base, max_retries=0).messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
except anthropic.AuthenticationError as e:
    out["anthropic_auth_error"] = e.body["error"]["type"]
print(json.dumps(out))
